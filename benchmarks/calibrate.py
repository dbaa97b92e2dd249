"""Calibration of the match strength (:mod:`matcher.strength`): fit on dev, report on test.

Run from the repository root:

    python benchmarks/calibrate.py --fit     # fit on the dev halves, print the coefficients to ship
    python benchmarks/calibrate.py           # shipped model: reliability, Brier, ECE, flag rates on test
    python benchmarks/calibrate.py --json

Pairs: every allowed need × capability pair of ``docking_zh`` / ``docking_en`` (halves by
``split.csv``) and of the frozen ``holdout_zh`` (test only, never fitted on); a pair is useful
when its grade is ≥ 2, every unlisted pair has grade 0. ECE: 10 equal-width bins, weighted by
pairs. The "no strong match" flag (best strength below 中) is counted over the needs that have a
useful partner, once with all candidates (should rarely fire) and once with every graded partner
(grade ≥ 1) removed (should fire).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import quality
from sklearn.linear_model import LogisticRegression

import matcher
from matcher import strength

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
FEATURES = ["semantic_z", "lexical_coverage"]


def graded_pairs(name, embedder):
    """Every allowed pair of one set with its features, grade and half."""
    folder = DATA / name
    needs = matcher.load_needs(folder / "needs.csv")
    capabilities = matcher.load_capabilities(folder / "capabilities.csv")
    qrels = matcher.evaluate.load_qrels(folder / "qrels.csv")
    split = folder / "split.csv"
    half = (dict(pd.read_csv(split, dtype=str).values) if split.is_file()
            else dict.fromkeys(needs["id"], "test"))
    scores = matcher.score_matrix(needs, capabilities, embedder=embedder)
    rows, columns = np.nonzero(scores.allowed)
    grade = dict(zip(zip(qrels["need_id"], qrels["capability_id"]), qrels["grade"]))
    frame = pd.DataFrame({"set": name, "need_id": scores.need_ids[rows], "capability_id": scores.capability_ids[columns],
                          **{f: scores.components[f][rows, columns] for f in FEATURES}})
    frame["grade"] = [grade.get(pair, 0) for pair in zip(frame["need_id"], frame["capability_id"])]
    frame["half"] = frame["need_id"].map(half)
    frame["useful"] = frame["grade"] >= 2
    return frame


def reliability(probability, useful, *, n_bins=10):
    """Reliability table (equal-width bins), Brier score and ECE."""
    bins = np.minimum((probability * n_bins).astype(int), n_bins - 1)
    table = (pd.DataFrame({"bin": bins, "p": probability, "y": useful.astype(float)})
             .groupby("bin").agg(pairs=("y", "size"), mean_strength=("p", "mean"), share_useful=("y", "mean")))
    ece = float((table["pairs"] * (table["mean_strength"] - table["share_useful"]).abs()).sum() / len(probability))
    brier = float(np.mean((probability - useful) ** 2))
    return table, brier, ece


def flag_rates(frame):
    """Share of needs with a useful partner flagged, with all candidates and with graded partners removed."""
    threshold = dict(strength.BANDS)["中"]
    answerable = frame.groupby("need_id")["useful"].transform("max")
    present = frame[answerable].groupby("need_id")["strength"].max()
    removed = frame[answerable & (frame["grade"] == 0)].groupby("need_id")["strength"].max()
    return float((present < threshold).mean()), float((removed < threshold).mean()), len(present)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit", action="store_true", help="fit on the dev halves and print coefficients")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    embedder = quality.make_embedder("multilingual-e5-small")
    frame = pd.concat([graded_pairs(name, embedder) for name in ("docking_zh", "docking_en", "holdout_zh")],
                      ignore_index=True)
    if args.fit:
        dev = frame[frame["half"] == "dev"]
        for name, features in (("semantic", FEATURES), ("lexical", ["lexical_coverage"])):
            model = LogisticRegression(C=1e4, max_iter=2000).fit(dev[features], dev["useful"])
            coefficients = {"intercept": round(float(model.intercept_[0]), 2), "semantic_z": 0.0,
                            **{f: round(float(c), 2) for f, c in zip(features, model.coef_[0])}}
            print(json.dumps({name: coefficients}))
        return
    frame["strength"] = strength.match_strength(frame["semantic_z"], frame["lexical_coverage"])
    for (name, half), part in frame.groupby(["set", "half"]):
        table, brier, ece = reliability(part["strength"].to_numpy(), part["useful"].to_numpy())
        flagged_present, flagged_removed, n_needs = flag_rates(part)
        summary = {"set": name, "half": half, "pairs": len(part), "useful": int(part["useful"].sum()),
                   "brier": round(brier, 4), "ece": round(ece, 4), "needs": n_needs,
                   "flag_partners_present": round(flagged_present, 3),
                   "flag_partners_removed": round(flagged_removed, 3)}
        if args.json:
            print(json.dumps({**summary, "reliability": table.round(4).reset_index().to_dict("records")},
                             ensure_ascii=False))
        else:
            print(json.dumps(summary, ensure_ascii=False))
            print(table.round(3).to_string(), "\n")


if __name__ == "__main__":
    main()
