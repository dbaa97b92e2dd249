"""Experiment (issue 14, the "no strong match" flag): can any query-level signal meet the targets?

Run from the repository root: ``python benchmarks/try_flag.py``.

Targets: the flag fires on ≥ 90 % of the needs whose graded partners were removed and on ≤ 15 %
of the needs whose partners are present. Each answerable need of a set gives two cases: its
candidates as they are (should not fire) and without every graded partner (should fire). For
each case the features describe the query's best candidates (best strength, mean of the five
best z-scores, ...). Printed: the separation (ROC AUC) of each feature on every half, and a
logistic flag fitted on the dev halves with the share of cases it flags on each half. The shipped
flag (best strength below 中) is the first row of the second table.
"""
from __future__ import annotations

import json

import calibrate
import numpy as np
import pandas as pd
import quality
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from matcher import strength

FEATURE_SETS = (["best_strength"], ["best_strength", "top5_z"], ["top5_z", "top5_coverage"],
                ["best_strength", "top5_strength", "top5_z", "best_coverage"])


def query_features(pairs):
    """Features of one query's candidates (rows of ``graded_pairs`` with ``strength``)."""
    top = lambda column, n: np.sort(pairs[column].to_numpy())[::-1][:n]  # noqa: E731
    return {"best_strength": top("strength", 1)[0], "top5_strength": top("strength", 5).mean(),
            "gap_strength": top("strength", 1)[0] - top("strength", 2)[-1],
            "best_z": top("semantic_z", 1)[0], "top5_z": top("semantic_z", 5).mean(),
            "best_coverage": top("lexical_coverage", 1)[0], "top5_coverage": top("lexical_coverage", 5).mean()}


def cases(frame):
    rows = []
    for (name, half, need), pairs in frame.groupby(["set", "half", "need_id"]):
        if pairs["useful"].any():
            rows.append({"set": name, "half": half, "removed": 0, **query_features(pairs)})
            rows.append({"set": name, "half": half, "removed": 1, **query_features(pairs[pairs["grade"] == 0])})
    return pd.DataFrame(rows)


def main():
    embedder = quality.make_embedder("multilingual-e5-small")
    frame = pd.concat([calibrate.graded_pairs(name, embedder) for name in ("docking_zh", "docking_en", "holdout_zh")],
                      ignore_index=True)
    frame["strength"] = strength.match_strength(frame["semantic_z"], frame["lexical_coverage"])
    table = cases(frame)
    halves = list(table.groupby(["set", "half"]))
    features = [c for c in table.columns if c not in ("set", "half", "removed")]
    for feature in features:
        print(json.dumps({"feature": feature, "auc": {f"{s}/{h}": round(roc_auc_score(part["removed"], -part[feature]), 3)
                                                       for (s, h), part in halves}}))
    shipped = {}
    for (s, h), part in frame.groupby(["set", "half"]):
        present, removed, _ = calibrate.flag_rates(part)
        shipped[f"{s}/{h}"] = {"fires_removed": round(removed, 3), "fires_present": round(present, 3)}
    print(json.dumps({"flag": "shipped: best strength < 中", **shipped}))
    dev = table[table["half"] == "dev"]
    for chosen in FEATURE_SETS:
        model = LogisticRegression(max_iter=1000).fit(dev[chosen], dev["removed"])
        result = {}
        for (s, h), part in halves:
            fires = model.predict_proba(part[chosen])[:, 1] >= 0.5
            result[f"{s}/{h}"] = {"auc": round(roc_auc_score(part["removed"], model.decision_function(part[chosen])), 3),
                                  "fires_removed": round(float(fires[part["removed"] == 1].mean()), 3),
                                  "fires_present": round(float(fires[part["removed"] == 0].mean()), 3)}
        print(json.dumps({"flag": "logistic on dev: " + " + ".join(chosen), **result}))


if __name__ == "__main__":
    main()
