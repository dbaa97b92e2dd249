"""Experiment (issue item 4): adapt the fusion weights to an event's decisions, measured leave-needs-out.

Run from the repository root: ``python benchmarks/try_decisions.py``.

Simulated decisions: an organiser has judged ``n`` needs drawn from the dev half of a docking set,
each as completely as the graded set does (an optimistic simulation: real decisions cover only the
shown suggestions). The adaptation picks, from a small grid of (semantic share, neighbourhood
weight), the weights under which the decided needs rank best (mean nDCG@10, ties to the shipped
weights); it is then scored on the needs of the test half, which have no decisions
(docking_en's dev half has 14 needs, so n = 25 uses all 14). Gain = nDCG@10 on those needs with
the adapted weights minus with the shipped ones, mean over 20 random draws per ``n``.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import quality

import matcher
from matcher.evaluate import query_metrics

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
GRID = list(itertools.product((0.4, 0.5, 0.6, 0.7, 0.8), (0.0, 0.4, 0.8)))
SHIPPED = (0.6, 0.8)


def per_need_ndcg(name, embedder):
    """{(semantic, neighbourhood): {need_id: nDCG@10}} over the grid, with the set's split."""
    folder = DATA / name
    needs = matcher.load_needs(folder / "needs.csv")
    capabilities = matcher.load_capabilities(folder / "capabilities.csv")
    qrels = matcher.evaluate.load_qrels(folder / "qrels.csv")
    split = pd.read_csv(folder / "split.csv", dtype=str)
    out = {}
    for semantic, neighbourhood in GRID:
        weights = {"semantic": semantic, "lexical": 1.0 - semantic, "neighbourhood": neighbourhood}
        scores = matcher.score_matrix(needs, capabilities, embedder=embedder, weights=weights)
        rows = query_metrics(scores, qrels, k=10)
        out[(semantic, neighbourhood)] = dict(zip(rows["need_id"], rows["ndcg_at_k"]))
    halves = {h: sorted(split.loc[split["half"] == h, "need_id"]) for h in ("dev", "test")}
    return out, halves


def simulate(table, halves, n_decided, *, draws=20, seed=0):
    rng = np.random.default_rng(seed)
    test = [n for n in halves["test"] if n in table[SHIPPED]]
    dev = [n for n in halves["dev"] if n in table[SHIPPED]]
    gains = []
    for _ in range(draws):
        decided = rng.choice(dev, size=min(n_decided, len(dev)), replace=False)
        fit = {w: np.mean([table[w][n] for n in decided]) for w in GRID}
        best = max(GRID, key=lambda w: (round(fit[w], 6), w == SHIPPED))
        gains.append(np.mean([table[best][n] for n in test]) - np.mean([table[SHIPPED][n] for n in test]))
    return float(np.mean(gains)), float(np.percentile(gains, 5)), float(np.percentile(gains, 95))


def main():
    embedder = quality.make_embedder("multilingual-e5-small")
    for name in ("docking_zh", "docking_en"):
        table, halves = per_need_ndcg(name, embedder)
        for n_decided in (3, 5, 10, 25):
            mean, low, high = simulate(table, halves, n_decided)
            print(json.dumps({"set": name, "decided_needs": n_decided, "gain_on_undecided_needs": round(mean, 4),
                              "p05": round(low, 4), "p95": round(high, 4)}))


if __name__ == "__main__":
    main()
