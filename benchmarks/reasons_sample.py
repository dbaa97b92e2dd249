"""Share of shown shared terms a reader accepts, before/after word-level reasons, and their cost.

Run from the repository root:

    python benchmarks/reasons_sample.py            # shares from the judged sample + timing
    python benchmarks/reasons_sample.py --check    # also re-rank data/ and compare the terms with the sample

The sample (``benchmarks/data/reasons_sample/sample.csv``) is the top 2 suggestions of 50 needs of
``data/`` (every ``len(needs) // 50``-th need by id), with the shared terms the character-level
reasons showed (``terms_before``) and the word-level ones show (``terms_after``);
``judgements.csv`` says for every term shown whether a reader would accept it as a technical term
the two records share in the same sense (see the README beside them for the rubric).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import matcher
from matcher.lexical import BM25
from matcher.reasons import describe_pairs
from matcher.records import record_texts
from matcher.terms import _segment

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "benchmarks" / "data" / "reasons_sample"


def shares(sample, judgements):
    acceptable = dict(zip(judgements["term"], judgements["acceptable"]))
    out = {}
    for column in ("terms_before", "terms_after"):
        terms = [[t for t in str(value).split("；") if t] for value in sample[column].fillna("")]
        flat = [t for row in terms for t in row]
        judged = [acceptable[t] for t in flat if t in acceptable]
        out[column] = {"terms": len(flat), "unjudged": len(flat) - len(judged),
                       "acceptable_share": round(float(np.mean(judged)), 3) if judged else None,
                       "suggestions_with_terms": int(sum(bool(row) for row in terms)),
                       "suggestions_all_acceptable": int(sum(bool(row) and all(acceptable.get(t, 0) for t in row)
                                                            for row in terms))}
    return out


def timing(needs, capabilities, top_k=10, repeats=3):
    """Milliseconds per suggestion of describe_pairs (records precomputed once per call, as rank_pairs does)."""
    pairs = matcher.rank_pairs(needs, capabilities, top_k=top_k, weights={"semantic": 0.0})
    weight = BM25().fit(record_texts(capabilities)).term_weight
    best = np.inf
    for _ in range(repeats):
        _segment.cache_clear()  # time the first ranking of these records, not the cache
        started = time.perf_counter()
        describe_pairs(pairs, needs, capabilities, weight=weight, semantic=False, neighbourhood=False)
        best = min(best, time.perf_counter() - started)
    return round(1000 * best / len(pairs), 3), len(pairs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="re-rank data/ and compare terms with the sample")
    args = parser.parse_args(argv)
    sample = pd.read_csv(FOLDER / "sample.csv", dtype=str, keep_default_na=False)
    judgements = pd.read_csv(FOLDER / "judgements.csv", dtype={"term": str, "acceptable": int}, keep_default_na=False)
    needs = matcher.load_needs(ROOT / "data" / "needs.csv")
    capabilities = matcher.load_capabilities(ROOT / "data" / "capabilities.csv")
    result = {"shares": shares(sample, judgements)}
    result["ms_per_suggestion"], result["timed_suggestions"] = timing(needs, capabilities)
    if args.check:
        pairs = matcher.rank_pairs(needs, capabilities, top_k=2)
        now = dict(zip(zip(pairs["need_id"], pairs["capability_id"]), pairs["shared_terms"]))
        result["sample_terms_reproduced"] = int(sum(now.get((n, c)) == t for n, c, t in zip(
            sample["need_id"], sample["capability_id"], sample["terms_after"])))
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
