"""Publishing one item into a standing library: latency against a full recomputation in the same run.

    python benchmarks/market_publish.py --json                  # libraries of 10,000 and 100,000 items
    python benchmarks/market_publish.py --sizes 10000 --json

Each library is half needs, half capabilities, with random 384-d unit vectors as stand-ins for
embeddings (only matching is timed), tiers and organisation qualifications drawn at random and
500 organisations per side. ``full_s`` is :meth:`matcher.standing.StandingMatches.build` (every
item's top-10 by a blocked exact recomputation with the rules); ``publish_ms`` and ``withdraw_ms``
are medians over ``--items`` single publishes / withdrawals into that library (the item's own
search through ``matcher.VectorIndex``, one row of similarities, the lists it enters or leaves);
``ratio`` = full / publish.
"""
import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from matcher import StandingMatches

DIM = 384


def columns(rng, n, prefix):
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return {"ids": [f"{prefix}{i}" for i in range(n)], "vectors": vectors,
            "levels": rng.choice([0, 0, 0, 1, 2], n), "orgs": [f"{prefix}org{i % 500}" for i in range(n)],
            "org_levels": rng.choice([0, 0, 1, 2, 3], n)}


def run(size, n_items, seed):
    rng = np.random.default_rng(seed)
    needs, capabilities = columns(rng, size // 2, "N"), columns(rng, size // 2, "C")
    start = time.perf_counter()
    library = StandingMatches(DIM, top_k=10).build(needs, capabilities)
    full = time.perf_counter() - start
    new = columns(rng, n_items, "X")
    publish, withdraw = [], []
    for i in range(n_items):
        side = "need" if i % 2 else "capability"
        start = time.perf_counter()
        library.publish(side, new["ids"][i], new["vectors"][i], level=int(new["levels"][i]), org=new["orgs"][i],
                        org_level=int(new["org_levels"][i]))
        publish.append(time.perf_counter() - start)
    for i in range(n_items):
        side = "need" if i % 2 else "capability"
        start = time.perf_counter()
        library.withdraw(side, new["ids"][i])
        withdraw.append(time.perf_counter() - start)
    median = statistics.median(publish)
    return {"library_items": size, "full_s": round(full, 2), "publish_ms": round(1000 * median, 2),
            "publish_p90_ms": round(1000 * sorted(publish)[int(0.9 * len(publish))], 2),
            "withdraw_ms": round(1000 * statistics.median(withdraw), 2), "ratio": round(full / median),
            "items_timed": n_items, "load_avg": os.getloadavg()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [run(size, args.items, args.seed) for size in args.sizes]
    if args.json:
        print(json.dumps({"cpu": platform.processor() or platform.machine(), "results": results}, indent=1))
    else:
        for row in results:
            print(row)


if __name__ == "__main__":
    main()
