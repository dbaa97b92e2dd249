"""Ranking at scale: the large path against a bare GEMM + argpartition of the same embeddings, same run.

    python benchmarks/scale.py                          # every size, both directions, JSON lines
    python benchmarks/scale.py --size 2000x2000 --direction need
    python benchmarks/scale.py --size 64000x154000 --neighbourhood 0

Each (size, direction) runs in its own process, so its peak RSS is its own. Records
are synthetic (benchmarks/synthetic.py: real CSL sentences recombined, stand-in
embeddings, so that only the ranking path is timed). Printed per run:

- ``seconds``: ``matcher.search_pairs`` from validated records and vectors to the
  top-k frame (BM25 index, candidate search, neighbour profiles, fusion);
- ``gemm_seconds``: ``Q @ C.T`` in blocks of 2,048 queries with ``argpartition``
  top-k, the same embeddings, measured just before; ``ratio`` = seconds / gemm_seconds;
- ``gemm_heap_seconds``: the same product with the compiled one-pass top-k the large
  path uses (``matcher.kernels.row_extremes``), a stricter baseline: ``ratio_heap``;
- ``peak_rss_gb`` of the process (data generation included);
- ``recall_at_10`` of the suggestions against the exact path: every query where
  the exact path fits (``--exact-limit`` pairs), else a sample of
  ``--recall-queries`` queries, for which the exact path is the first-order
  ranking (the exact neighbourhood signal needs every candidate's neighbours);
- ``reason_ms_per_record`` (a record's words and sentences, computed once per record) and
  ``reason_ms_per_pair`` (a pair's reason from those), medians over 3 samples of 20,000
  suggestions; ``reason_ms_median`` is their sum per suggestion of this whole ranking
  (per pair + per record × distinct records / suggestions), as ``rank_pairs`` writes them.

Machine facts (CPU model and flags, load average) are printed with every run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SIZES = ("2000x2000", "20000x20000", "100000x100000", "64000x154000")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", help="NEEDSxCAPABILITIES (repeatable); default: all")
    parser.add_argument("--direction", action="append", choices=["need", "capability"])
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=None, help="n_candidates (default: the library's)")
    parser.add_argument("--neighbourhood", type=float, default=None, help="neighbourhood weight (default: shipped)")
    parser.add_argument("--exact-limit", type=float, default=4.5e8, help="pairs up to which recall uses every query")
    parser.add_argument("--recall-queries", type=int, default=300)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes, directions = args.size or list(SIZES), args.direction or ["need", "capability"]
    if args.one:
        print(json.dumps(run(sizes[0], directions[0], args)), flush=True)
        return
    for size in sizes:
        for direction in directions:
            command = [sys.executable, __file__, "--one", "--size", size, "--direction", direction,
                       "--top-k", str(args.top_k), "--exact-limit", str(args.exact_limit),
                       "--recall-queries", str(args.recall_queries)]
            for flag, value in (("--candidates", args.candidates), ("--neighbourhood", args.neighbourhood)):
                if value is not None:
                    command += [flag, str(value)]
            subprocess.run(command, check=True)


def run(size, direction, args):
    sys.path.insert(0, str(HERE))
    import synthetic

    import matcher
    from matcher.records import record_texts

    n_needs, n_capabilities = (int(part) for part in size.split("x"))
    papers = synthetic.load_papers()
    needs, need_vectors = synthetic.make_records(papers, n_needs, "need", seed=10)
    capabilities, capability_vectors = synthetic.make_records(papers, n_capabilities, "capability", seed=11)
    needs, capabilities = matcher.load_needs(needs), matcher.load_capabilities(capabilities)
    embedder = synthetic.StandInEmbedder(record_texts(needs) + record_texts(capabilities),
                                         np.vstack([need_vectors, capability_vectors]))
    queries, documents = ((need_vectors, capability_vectors) if direction == "need"
                          else (capability_vectors, need_vectors))
    gemm_seconds = _gemm_top_k(queries, documents, args.top_k)
    gemm_heap_seconds = _gemm_top_k(queries, documents, args.top_k, heap=True)
    weights = {} if args.neighbourhood is None else {"neighbourhood": args.neighbourhood}
    options = {"top_k": args.top_k, "direction": direction, "embedder": embedder, "weights": weights,
               "show_progress": False}
    if args.candidates is not None:
        options["n_candidates"] = args.candidates
    matcher.search_pairs(needs.iloc[:64], capabilities.iloc[:512], **options)  # compile the kernels once
    load = os.getloadavg()
    started = time.perf_counter()
    found = matcher.search_pairs(needs, capabilities, **options)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    recall, recall_on = _recall(found, needs, capabilities, options, args)
    return {"size": size, "direction": direction, "top_k": args.top_k, "seconds": round(seconds, 1),
            "gemm_seconds": round(gemm_seconds, 2), "ratio": round(seconds / gemm_seconds, 2),
            "gemm_heap_seconds": round(gemm_heap_seconds, 2), "ratio_heap": round(seconds / gemm_heap_seconds, 2),
            "peak_rss_gb": round(rss, 2), "recall_at_10": round(recall, 4), "recall_on": recall_on,
            **_reason_ms(found, needs, capabilities, direction),
            "weights": {**matcher.DEFAULT_WEIGHTS, **weights},
            "load_average": [round(x, 2) for x in (load[0], os.getloadavg()[0])], **_machine()}


def _gemm_top_k(queries, documents, k, block=2048, heap=False):
    from matcher.kernels import row_extremes

    row_extremes(queries[:2] @ documents[:k + 1].T, k, 0)  # compiled before timing
    started = time.perf_counter()
    for start in range(0, len(queries), block):
        scores = queries[start:start + block] @ documents.T
        if heap:
            row_extremes(scores, k, 0)
        else:
            np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return time.perf_counter() - started


def _recall(found, needs, capabilities, options, args):
    import matcher

    query_column = "need_id" if options["direction"] == "need" else "capability_id"
    exact_options = dict(options, n_candidates=None)
    if len(needs) * len(capabilities) <= args.exact_limit:
        exact, label = matcher.search_pairs(needs, capabilities, **exact_options), "every query"
    else:
        rng = np.random.default_rng(0)
        side = needs if options["direction"] == "need" else capabilities
        sample = side.iloc[np.sort(rng.choice(len(side), args.recall_queries, replace=False))]
        exact_options["weights"] = {**options["weights"], "neighbourhood": 0.0}
        first_order = dict(options, weights=exact_options["weights"])
        pair = (sample, capabilities) if options["direction"] == "need" else (needs, sample)
        exact = matcher.search_pairs(*pair, **exact_options)
        found = matcher.search_pairs(*pair, **first_order) if options["weights"].get("neighbourhood", 1) else found
        found = found[found[query_column].isin(sample["id"])]
        label = f"{args.recall_queries} sampled queries, first-order signals"
    key = lambda frame: set(zip(frame["need_id"], frame["capability_id"]))  # noqa: E731
    return len(key(exact) & key(found)) / max(len(key(exact)), 1), label


def _reason_ms(found, needs, capabilities, direction, batches=3, batch=20_000):
    """Reason cost: per record (terms computed once) and per pair (from those terms), and the two
    combined per suggestion of this whole ranking, whose records are each described once."""
    from matcher.lexical import BM25
    from matcher.reasons import explain_pairs, record_terms
    from matcher.records import record_texts

    weight = BM25().fit(record_texts(capabilities if direction == "need" else needs)).term_weight
    keywords = {k for frame in (needs, capabilities) for value in frame["keywords"] for k in str(value).split(";")}
    rng = np.random.default_rng(1)
    per_record, per_pair = [], []
    for _ in range(batches):
        rows = found.iloc[rng.choice(len(found), min(batch, len(found)), replace=False)]
        sides = [(frame, pd.Index(frame["id"]).get_indexer(rows[column]))
                 for frame, column in ((needs, "need_id"), (capabilities, "capability_id"))]
        started = time.perf_counter()
        built = []
        for frame, at in sides:
            unique, inverse = np.unique(at, return_inverse=True)
            subset = frame.iloc[unique]
            terms = record_terms(record_texts(subset), subset["description"].tolist(), keywords=keywords)
            built.append(([terms[i] for i in inverse], len(unique)))
        described = time.perf_counter()
        explain_pairs(built[0][0], built[1][0], needs["domain"].to_numpy()[sides[0][1]],
                      capabilities["domain"].to_numpy()[sides[1][1]], weight=weight,
                      semantic=rows["score_semantic"].to_numpy(), lexical=rows["score_lexical"].to_numpy(),
                      strength=rows["strength"].to_numpy(), band=rows["strength_band"].to_numpy())
        per_record.append((described - started) / (built[0][1] + built[1][1]) * 1e3)
        per_pair.append((time.perf_counter() - described) / len(rows) * 1e3)
    record_ms, pair_ms = float(np.median(per_record)), float(np.median(per_pair))
    records_per_suggestion = (found["need_id"].nunique() + found["capability_id"].nunique()) / max(len(found), 1)
    return {"reason_ms_median": round(pair_ms + record_ms * records_per_suggestion, 3),
            "reason_ms_per_pair": round(pair_ms, 3), "reason_ms_per_record": round(record_ms, 3)}


def _machine():
    model = flags = ""
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = " ".join(f for f in line.split(":", 1)[1].split()
                                 if f.startswith(("avx", "amx", "fma")) or f in ("sse4_2",))
    return {"cpu": model or platform.processor(), "cpu_flags": flags, "cores": os.cpu_count()}


if __name__ == "__main__":
    main()
