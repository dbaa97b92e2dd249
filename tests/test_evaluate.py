"""Metrics against hand-computed values."""
import math

import numpy as np
import pandas as pd
import pytest

from matcher import InputError, ScoreMatrix
from matcher.evaluate import evaluate, query_metrics

QRELS = pd.DataFrame({"need_id": ["N1", "N1", "N2"], "capability_id": ["C2", "C3", "C1"], "grade": [3, 1, 2]})


def pairs_frame():
    return pd.DataFrame({"need_id": ["N1", "N1", "N1", "N2", "N2"], "capability_id": ["C1", "C2", "C3", "C3", "C2"],
                         "rank": [1, 2, 3, 1, 2]})


def test_hand_computed_metrics_from_pairs():
    metrics = query_metrics(pairs_frame(), QRELS, k=2).set_index("need_id")
    # N1: ranked C1 (0), C2 (3) | relevant {C2, C3}: recall@2 = 1/2, MRR = 1/2.
    dcg = (2 ** 3 - 1) / math.log2(3)
    ideal = (2 ** 3 - 1) / math.log2(2) + (2 ** 1 - 1) / math.log2(3)
    assert metrics.loc["N1", "recall_at_k"] == pytest.approx(0.5)
    assert metrics.loc["N1", "mrr_at_k"] == pytest.approx(0.5)
    assert metrics.loc["N1", "ndcg_at_k"] == pytest.approx(dcg / ideal)
    assert metrics.loc["N1", "recall_at_1"] == 0.0
    # N2: C1 not ranked at all.
    assert metrics.loc["N2", ["recall_at_k", "mrr_at_k", "ndcg_at_k"]].tolist() == [0.0, 0.0, 0.0]
    assert math.isnan(metrics.loc["N2", "first_relevant_rank"])


def test_min_grade_drops_weak_judgements():
    metrics = query_metrics(pairs_frame(), QRELS, k=3, min_grade=2).set_index("need_id")
    assert metrics.loc["N1", "n_relevant"] == 1 and metrics.loc["N1", "recall_at_k"] == 1.0


def test_score_matrix_and_pairs_agree():
    values = np.array([[0.9, 0.5, 0.1], [-np.inf, 0.2, 0.8]])
    matrix = ScoreMatrix(values, np.array(["N1", "N2"], dtype=object), np.array(["C1", "C2", "C3"], dtype=object))
    summary = evaluate(matrix, QRELS, k=2)
    assert summary["n_queries"] == 2
    assert summary["mrr_at_k"] == pytest.approx((0.5 + 0.0) / 2)
    assert summary.equals(evaluate(pairs_frame(), QRELS, k=2))


def test_bad_qrels():
    with pytest.raises(InputError, match="qrels lacks column"):
        evaluate(pairs_frame(), QRELS.drop(columns="grade"))


def test_load_qrels_reads_string_ids_and_checks_grades(tmp_path):
    from matcher.evaluate import load_qrels

    good = tmp_path / "qrels.csv"
    good.write_text("need_id,capability_id,grade\n001,C1,3\n002,C2,0\n", encoding="utf-8")
    qrels = load_qrels(good)
    assert qrels["need_id"].tolist() == ["001", "002"] and qrels["grade"].tolist() == [3, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text("need_id,capability_id,grade\nN1,C1,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2: grade must be 0, 1, 2 or 3; got '5'"):
        load_qrels(bad)
