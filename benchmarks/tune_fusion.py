"""Tune the fusion of the semantic and lexical signals on the CSL dev half.

    python benchmarks/tune_fusion.py [--split dev] [--model multilingual-e5-small]

Computes each task's signal matrices once through ``matcher.score_matrix``,
then scores fusion variants (weights, normalisation) in numpy. Prints one line
per variant: T4 MRR@10, T3 P@10, T1/T2 R@1. The shipped DEFAULT_WEIGHTS come
from the dev half; quality.py reports them on the test half.
"""
from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd
import quality

import matcher

NORMALISERS = {
    "minmax": lambda v, m: _masked(v, m, lambda x: (x - np.nanmin(x, 1, keepdims=True))
                                   / np.maximum(np.nanmax(x, 1, keepdims=True) - np.nanmin(x, 1, keepdims=True), 1e-9)),
    "zscore": lambda v, m: _masked(v, m, lambda x: (x - np.nanmean(x, 1, keepdims=True))
                                   / np.maximum(np.nanstd(x, 1, keepdims=True), 1e-9)),
}


def _masked(values, allowed, function):
    return np.nan_to_num(function(np.where(allowed, values, np.nan)), nan=-1e9)


def components(frame, documents, embedder, exclude=None):
    # Only the first-order components are read; the neighbourhood pass would be wasted work.
    return matcher.score_matrix(frame, documents, embedder=embedder, exclude=exclude, weights={"neighbourhood": 0.0})


def rank_of_gold(fused, scores):
    position = {c: j for j, c in enumerate(scores.capability_ids)}
    gold = np.array([position[n] for n in scores.need_ids])
    target = fused[np.arange(len(gold)), gold][:, None]
    return (fused > target).sum(1) + 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev")
    parser.add_argument("--model", default="multilingual-e5-small")
    args = parser.parse_args()
    papers = quality.load_csl()
    chosen = papers[papers["half"] == args.split]
    documents = quality.corpus(papers)
    embedder = matcher.Embedder(args.model)
    tasks = {
        "t4": quality.unseen_keywords(chosen),
        "t1": quality.queries(chosen, "title"),
    }
    matrices = {name: components(frame, documents, embedder) for name, frame in tasks.items()}
    engineering = chosen[chosen["category"] == "工学"]
    t3_needs = matcher.load_needs(pd.DataFrame({"id": engineering["id"], "org": "", "title": engineering["title"],
                                                "description": engineering["abstract"]}))
    t3 = components(t3_needs, documents, embedder,
                    exclude=pd.DataFrame({"need_id": t3_needs["id"], "capability_id": t3_needs["id"]}))
    discipline = dict(zip(papers["id"], papers["discipline"]))
    same = np.array([[discipline[c] == discipline[n] for c in t3.capability_ids] for n in t3.need_ids])
    rows = []
    for normaliser, w in itertools.product(NORMALISERS, [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]):
        row = {"normaliser": normaliser, "semantic_weight": w}
        for name, scores in {**matrices, "t3": t3}.items():
            allowed = scores.allowed
            fused = (w * NORMALISERS[normaliser](scores.components["semantic"], allowed)
                     + (1 - w) * NORMALISERS[normaliser](scores.components["lexical"], allowed))
            fused = np.where(allowed, fused, -np.inf)
            if name == "t3":
                top = np.argsort(-fused, axis=1)[:, :10]
                row["t3_p10"] = float(np.take_along_axis(same, top, 1).mean())
            else:
                ranks = rank_of_gold(fused, scores)
                row[f"{name}_mrr10"] = float(np.mean(np.where(ranks <= 10, 1 / ranks, 0)))
                row[f"{name}_r1"] = float(np.mean(ranks == 1))
        rows.append(row)
        print(row, flush=True)
    print(pd.DataFrame(rows).round(4).to_string())


if __name__ == "__main__":
    main()
