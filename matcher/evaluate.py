"""Ranking metrics against graded relevance judgements (qrels).

A qrels frame has one row per judged pair: ``need_id``, ``capability_id`` and
``grade`` (3 ideal, 2 strong, 1 related; unjudged pairs count as 0). Needs are
the queries. Metrics work on a :class:`~matcher.ScoreMatrix` or on a ranked
pairs frame (``need_id``, ``capability_id``, ``rank``) such as
:func:`matcher.rank_pairs` returns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError

METRICS = ("recall_at_1", "recall_at_k", "mrr_at_k", "ndcg_at_k")

#: The CSL discipline → domain mapping used to measure domain inference on real papers.
#: Disciplines not listed (history, law, agriculture, …) have no domain and are not scored.
CSL_DISCIPLINE_DOMAINS = {
    "电子信息": ("信息与通信工程", "计算机科学与技术", "电子科学与技术", "光学工程"),
    "新材料": ("材料科学与工程", "冶金工程", "纺织科学与工程", "化学/化学工程与技术"),
    "先进制造与自动化": ("机械工程", "控制科学与工程", "电气工程", "兵器科学与技术", "航空宇航科学与技术",
                      "动力工程及工程热物理"),
    "高技术服务": ("图书馆、情报与档案管理", "工商管理"),
    "生物医药": ("药学", "基础医学/临床医学", "中医学/中药学", "生物学/生物科学与工程", "公共卫生与预防医学", "口腔医学"),
}


def query_metrics(ranking, qrels, *, k=10, min_grade=1):
    """Metrics for every query that has at least one relevant partner.

    Parameters
    ----------
    ranking : ScoreMatrix or pandas.DataFrame
        A score matrix (rows = needs) or a pairs frame with ``need_id``,
        ``capability_id`` and ``rank``.
    qrels : pandas.DataFrame
        ``need_id``, ``capability_id``, ``grade``.
    k : int, default 10
        Cut-off of recall@k, MRR@k and nDCG@k.
    min_grade : int, default 1
        Smallest grade that counts as relevant for recall and MRR; nDCG uses
        every grade with gain ``2**grade - 1``.

    Returns
    -------
    pandas.DataFrame
        One row per query: ``need_id, n_relevant, first_relevant_rank`` (NaN
        when none is ranked) and the columns of :data:`METRICS`.

    Examples
    --------
    >>> qrels = pd.DataFrame({"need_id": ["N1"], "capability_id": ["C2"], "grade": [3]})
    >>> query_metrics(pairs, qrels, k=10)["mrr_at_k"].mean()
    0.5
    """
    _check_qrels(qrels)
    rankings = _ranked_lists(ranking, k)
    rows = []
    for need_id, judged in qrels.groupby("need_id", sort=True):
        grades = dict(zip(judged["capability_id"], judged["grade"]))
        relevant = {c for c, g in grades.items() if g >= min_grade}
        if not relevant:
            continue
        ranked = rankings.get(need_id, [])[:k]
        hits = [i for i, c in enumerate(ranked, start=1) if c in relevant]
        gains = [2.0 ** grades.get(c, 0) - 1 for c in ranked]
        ideal = sorted((2.0 ** g - 1 for g in grades.values() if g > 0), reverse=True)[:k]
        rows.append({
            "need_id": need_id,
            "n_relevant": len(relevant),
            "first_relevant_rank": hits[0] if hits else np.nan,
            "recall_at_1": sum(1 for c in ranked[:1] if c in relevant) / len(relevant),
            "recall_at_k": len(hits) / len(relevant),
            "mrr_at_k": 1.0 / hits[0] if hits else 0.0,
            "ndcg_at_k": _dcg(gains) / _dcg(ideal) if ideal else 0.0,
        })
    return pd.DataFrame(rows, columns=["need_id", "n_relevant", "first_relevant_rank", *METRICS])


def evaluate(ranking, qrels, *, k=10, min_grade=1):
    """Mean of :func:`query_metrics` over the judged queries.

    Returns
    -------
    pandas.Series
        Index :data:`METRICS` plus ``n_queries``.

    Examples
    --------
    >>> evaluate(score_matrix(needs, capabilities), qrels, k=10)["ndcg_at_k"]
    0.71
    """
    per_query = query_metrics(ranking, qrels, k=k, min_grade=min_grade)
    summary = per_query[list(METRICS)].mean() if len(per_query) else pd.Series(0.0, index=list(METRICS))
    summary["n_queries"] = len(per_query)
    return summary


def load_qrels(src):
    """Read graded judgements from a CSV/XLSX file (or take a DataFrame) with string ids.

    Returns
    -------
    pandas.DataFrame
        ``need_id, capability_id, grade`` (int).

    Raises
    ------
    InputError
        Missing columns or a grade that is not a whole number from 0 to 3, naming the row.

    Examples
    --------
    >>> qrels = load_qrels("benchmarks/data/docking_zh/qrels.csv")
    """
    from .sources import read_table

    table = read_table(src, aliases={"need_id": "need_id", "capability_id": "capability_id", "grade": "grade"})
    _check_qrels(table.frame)
    frame = table.frame[["need_id", "capability_id", "grade"]].astype(str)
    bad = [f"{table.row_label} {row}: grade must be 0, 1, 2 or 3; got {grade!r}"
           for row, grade in zip(table.rows, frame["grade"]) if grade.strip() not in ("0", "1", "2", "3")]
    if bad:
        raise InputError(f"{table.name}: " + "; ".join(bad[:20]))
    return frame.assign(grade=frame["grade"].astype(int)).reset_index(drop=True)


def _dcg(gains):
    return float(sum(g / np.log2(i + 2) for i, g in enumerate(gains)))


def _ranked_lists(ranking, k):
    if isinstance(ranking, pd.DataFrame):
        missing = {"need_id", "capability_id", "rank"} - set(ranking.columns)
        if missing:
            raise InputError(f"pairs frame lacks column(s) {sorted(missing)}")
        ordered = ranking.sort_values(["need_id", "rank"])
        return {need: group["capability_id"].tolist() for need, group in ordered.groupby("need_id", sort=False)}
    if not hasattr(ranking, "values") or not hasattr(ranking, "need_ids"):
        raise InputError(f"ranking must be a ScoreMatrix or a pairs DataFrame; got {type(ranking).__name__}")
    values = np.asarray(ranking.values)
    top = np.argsort(-values, axis=1, kind="stable")[:, :k]
    return {need: [ranking.capability_ids[j] for j in row if np.isfinite(values[i, j])]
            for i, (need, row) in enumerate(zip(ranking.need_ids, top))}


def _check_qrels(qrels):
    if not isinstance(qrels, pd.DataFrame):
        raise InputError(f"qrels must be a DataFrame; got {type(qrels).__name__}")
    missing = {"need_id", "capability_id", "grade"} - set(qrels.columns)
    if missing:
        raise InputError(f"qrels lacks column(s) {sorted(missing)}; expected need_id, capability_id, grade")
