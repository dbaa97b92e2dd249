"""Tune the neighbourhood (second-order) signal on the CSL dev half and the docking sets.

    python benchmarks/tune_neighbourhood.py [--split dev]

Grid over the signal's weight and the query length at which it saturates
(``matcher.neighbourhood.SATURATION_TERMS``), everything through
``matcher.score_matrix``. Prints one line per setting: T4 MRR@10 (short keyword
queries), T3 P@10 (abstracts as queries) and docking nDCG@10 (needs as queries).
"""
from __future__ import annotations

import argparse
import itertools

import pandas as pd
import quality

import matcher
import matcher.neighbourhood


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev")
    parser.add_argument("--weights", default="0,0.5,0.65,0.8,1.0")
    parser.add_argument("--saturation", default="30,60,120")
    args = parser.parse_args()
    papers = quality.load_csl()
    chosen = papers[papers["half"] == args.split]
    documents = quality.corpus(papers)
    embedder = matcher.Embedder(show_progress=False)
    t4_needs = quality.unseen_keywords(chosen)
    rows = []
    saturations = [int(value) for value in args.saturation.split(",")]
    for weight, saturation in itertools.product(map(float, args.weights.split(",")), saturations):
        if weight == 0 and saturation != saturations[0]:
            continue  # without the signal its saturation changes nothing
        matcher.neighbourhood.SATURATION_TERMS = saturation
        weights = {**matcher.DEFAULT_WEIGHTS, "neighbourhood": weight}
        row = {"weight": weight, "saturation": saturation,
               "t4_mrr10": quality.retrieval(t4_needs, documents, embedder, weights)["mrr_at_k"],
               "t3_p10": quality.coherence(papers, documents, embedder, weights, args.split)}
        for name in ("docking_zh", "docking_en"):
            row[f"{name}_ndcg10"] = quality.docking(name, embedder, weights)[f"{name}_ndcg10"]
        rows.append(row)
        print(row, flush=True)
    print(pd.DataFrame(rows).round(4).to_string())


if __name__ == "__main__":
    main()
