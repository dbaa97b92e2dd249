"""Catalogue encoding on Ray: 1 worker × 2 threads against 2 workers × 1 thread, and in-process.

    python benchmarks/ray_encode.py --texts 1000 --json

Each configuration encodes the same CSL abstracts into its own empty embedding cache with the
default model (``matcher.distributed.encode_catalogue``), one after another in this process;
``seconds`` includes starting Ray and loading one model per worker, ``texts_per_second`` is over
that whole time. ``in_process`` is a plain ``Embedder.encode`` of the same texts (model already
loaded, 2 torch threads): the ceiling of this 2-core machine. Printed per configuration, with the
CPU model and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

CSL = Path(__file__).resolve().parents[2] / "shared" / "data" / "csl" / "csl_papers.tsv"
CONFIGS = (("in_process", 0, 2), ("1 worker x 2 threads", 1, 2), ("2 workers x 1 thread", 2, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import ray

    from matcher import Embedder
    from matcher.distributed import encode_catalogue

    texts = pd.read_csv(CSL, sep="\t", dtype=str, keep_default_na=False)["abstract"].head(args.texts).tolist()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "")
    for name, workers, threads in CONFIGS:
        with tempfile.TemporaryDirectory() as cache:
            load = os.getloadavg()[0]
            if workers:
                started = time.perf_counter()
                done = encode_catalogue(texts, workers=workers, threads_per_worker=threads, cache_dir=cache,
                                        show_progress=False)
                seconds = time.perf_counter() - started
                ray.shutdown()
            else:
                embedder = Embedder(cache_dir=cache, use_cache=False)
                embedder.encode(texts[:8])  # the model is loaded before timing
                started = time.perf_counter()
                done = len(embedder.encode(texts))
                seconds = time.perf_counter() - started
        row = {"config": name, "texts": done, "seconds": round(seconds, 1),
               "texts_per_second": round(done / seconds, 1), "load_average": round(load, 2), "cpu": cpu,
               "cores": os.cpu_count()}
        print(json.dumps(row) if args.json else row, flush=True)


if __name__ == "__main__":
    main()
