"""The ranking job: embed and rank an event's records in the background and store the results.

Suggestions (top-k per need and per capability, with reasons) go to the
``suggestions`` table and need-direction scores to ``score_tables``, so pages and
decisions read precomputed scores: every pair for an ordinary event, and past
matcher's large threshold (no dense matrix is ever built) the
:data:`SCORED_PER_NEED` best pairs of each need plus the rules in sparse form.
"""
from __future__ import annotations

import functools
import threading

import numpy as np
import pandas as pd
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select

from matcher import CLEARANCES, LARGE_THRESHOLD, clearance_allows, rank_pairs, score_matrix, search_pairs
from matcher.constraints import RULE_NAMES, pair_rules
from matcher.lexical import BM25
from matcher.reasons import describe_pairs
from matcher.records import record_texts

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Event, Job, Need, ScoreTable, Suggestion, WithheldMatch
from ..state import get_embedder, get_jobs
from .frames import pairs_records, records_frame

SUGGESTION_COLUMNS = ["need_id", "capability_id", "rank", "score", "score_semantic", "score_lexical", "strength",
                      "strength_band", "domain_match", "reason", "shared_terms", "need_org", "capability_org", "need_title",
                      "capability_title", "need_domain", "capability_domain", "need_clearance",
                      "capability_classification"]
#: Stage keys a job reports, with the label shown next to its progress bar.
STAGES = {
    "queued": _l("排队中"),
    "loading": _l("读取需求与成果"),
    "model": _l("加载语义模型（服务器启动后首次约需 20 秒）"),
    "need": _l("为每项需求排序成果"),
    "capability": _l("为每项成果排序需求"),
    "saving": _l("保存推荐结果"),
    "schedule": _l("求解会面日程"),
    "done": _l("已完成"),
}
_SCORE_CACHE_LOCK = threading.Lock()
#: Need-direction scores kept per need for a large event (accepting or scheduling a pair reads them).
SCORED_PER_NEED = 50


def start_ranking(event):
    """Queue a ranking job for ``event`` (or return the one already queued or running).

    Raises
    ------
    ValidationFailed
        The event has no needs or no capabilities yet.
    """
    running = active_job(event.id, "rank")
    if running is not None:
        return running
    counts = [db.session.scalar(select(func.count()).select_from(m).where(m.event_id == event.id))
              for m in (Need, Capability)]
    if not all(counts):
        raise ValidationFailed(_l("请先导入需求和成果，再计算推荐。"))
    job = Job(event_id=event.id, kind="rank", status="queued", stage="queued")
    db.session.add(job)
    db.session.commit()
    get_jobs().submit(job.id, functools.partial(run_ranking, event.id))
    return job


def active_job(event_id, kind):
    """The queued or running job of this kind for the event, if any."""
    return db.session.scalar(select(Job).where(Job.event_id == event_id, Job.kind == kind,
                                               Job.status.in_(("queued", "running"))).order_by(Job.id.desc()))


def latest_job(event_id, kind):
    return db.session.scalar(select(Job).where(Job.event_id == event_id, Job.kind == kind).order_by(Job.id.desc()))


def run_ranking(event_id, job, progress):
    """Job body: rank both directions with matcher and replace the event's stored suggestions."""
    from .outcomes import exclusions

    event = db.session.get(Event, event_id)
    version = event.records_version
    progress(5, "loading")
    needs, capabilities = (records_frame(visibility.SYSTEM, event_id, "need"),
                           records_frame(visibility.SYSTEM, event_id, "capability"))
    needs["clearance"] = visibility.verified_clearances(needs["org"])
    exclude = exclusions(event_id)
    progress(10, "model")
    options = {"embedder": get_embedder(), "weights": current_app.config["MATCHER_WEIGHTS"],
               "exclude": exclude if len(exclude) else None}
    top_k = current_app.config["SUGGESTIONS_TOP_K"]
    threshold = current_app.config.get("MATCHER_LARGE_THRESHOLD", LARGE_THRESHOLD)
    large = len(needs) * len(capabilities) > threshold
    progress(20, "need")
    if large:
        scored = search_pairs(needs, capabilities, top_k=max(top_k, SCORED_PER_NEED), direction="need", **options)
        by_need = _describe(scored[scored["rank"] <= top_k], needs, capabilities, options["weights"])
        table = _pair_score_table(event_id, scored, needs, capabilities, options["exclude"])
    else:
        by_need_scores = score_matrix(needs, capabilities, direction="need", **options)
        by_need = rank_pairs(needs, capabilities, top_k=top_k, direction="need", scores=by_need_scores)
        table = _score_table(event_id, by_need_scores)
    progress(60, "capability")
    by_capability = rank_pairs(needs, capabilities, top_k=top_k, direction="capability", large_threshold=threshold,
                               **options)
    progress(90, "saving")
    db.session.execute(delete(Suggestion).where(Suggestion.event_id == event_id).execution_options(event_id=event_id))
    db.session.execute(delete(ScoreTable).where(ScoreTable.event_id == event_id).execution_options(event_id=event_id))
    for direction, pairs in (("need", by_need), ("capability", by_capability)):
        rows = pairs_records(pairs, SUGGESTION_COLUMNS)
        if rows:
            db.session.execute(insert(Suggestion).execution_options(event_id=event_id),
                               [dict(r, event_id=event_id, direction=direction) for r in rows])
    db.session.add(table)
    _store_withheld(event_id, withheld_matches(needs, capabilities, options, top_k))
    event.ranked_version = version
    db.session.commit()


def withheld_matches(needs, capabilities, options, top_k):
    """Capabilities the clearance rule keeps out of a need's top ``top_k``, for telling the organiser.

    Each need below the highest qualification is ranked again as if it held every tier; a capability
    that then enters its top ``top_k`` but its own (verified) qualification does not allow is withheld.

    Returns
    -------
    pandas.DataFrame
        ``need_id, capability_id, score, would_rank``.
    """
    columns = ["need_id", "capability_id", "score", "would_rank"]
    highest = max(CLEARANCES, key=CLEARANCES.get)
    limited = needs[needs["clearance"] != highest]
    if limited.empty or capabilities["classification"].eq("公开").all():
        return pd.DataFrame(columns=columns)
    unrestricted = rank_pairs(limited.assign(clearance=highest), capabilities, top_k=top_k, direction="need",
                              **options)
    actual = dict(zip(limited["id"], limited["clearance"]))
    tier = dict(zip(capabilities["id"], capabilities["classification"]))
    kept = [not clearance_allows(actual[n], tier[c]) for n, c in zip(unrestricted["need_id"],
                                                                     unrestricted["capability_id"])]
    return unrestricted[kept].rename(columns={"rank": "would_rank"})[columns].reset_index(drop=True)


def _store_withheld(event_id, frame):
    db.session.execute(delete(WithheldMatch).where(WithheldMatch.event_id == event_id)
                       .execution_options(event_id=event_id))
    rows = pairs_records(frame, ["need_id", "capability_id", "score", "would_rank"])
    if rows:
        db.session.execute(insert(WithheldMatch).execution_options(event_id=event_id),
                           [dict(r, event_id=event_id) for r in rows])


def _score_table(event_id, matrix):
    keys = [""] + sorted({str(k) for k in np.unique(matrix.excluded_by)} - {""})
    codes = np.vectorize(keys.index, otypes=[np.uint8])(matrix.excluded_by) if matrix.excluded_by.size else \
        np.zeros(matrix.values.shape, dtype=np.uint8)
    return ScoreTable(event_id=event_id, need_ids=[str(i) for i in matrix.need_ids],
                      capability_ids=[str(i) for i in matrix.capability_ids],
                      values=np.asarray(matrix.values, dtype=np.float32).tobytes(),
                      exclusion_codes=codes.astype(np.uint8).tobytes(), exclusion_keys=keys)


def _describe(pairs, needs, capabilities, weights):
    """Reasons for suggestions of the large path (what ``rank_pairs`` adds)."""
    weight = BM25().fit(record_texts(capabilities)).term_weight
    semantic = (weights or {}).get("semantic", 1.0) > 0
    return describe_pairs(pairs, needs, capabilities, weight=weight, semantic=semantic,
                          neighbourhood=bool(pairs["score_neighbourhood"].any()))


def _pair_score_table(event_id, scored, needs, capabilities, exclude):
    """A sparse score table: the scored pairs, the same-org and excluded pairs, and the tier levels."""
    rules = pair_rules(needs, capabilities, exclude=exclude)
    need_at = pd.Index(needs["id"]).get_indexer(scored["need_id"])
    capability_at = pd.Index(capabilities["id"]).get_indexer(scored["capability_id"])
    parts = [(need_at, capability_at, scored["score"].to_numpy(dtype=np.float32), np.zeros(len(scored), np.uint8))]
    for code, matrix in ((2, rules.same_org), (3, rules.excluded)):
        rows, columns = matrix.nonzero()
        parts.append((rows, columns, np.full(len(rows), -np.inf, np.float32), np.full(len(rows), code, np.uint8)))
    rows, columns, values, codes = (np.concatenate(column) for column in zip(*parts))
    return ScoreTable(event_id=event_id, need_ids=[str(i) for i in needs["id"]],
                      capability_ids=[str(i) for i in capabilities["id"]], layout="pairs",
                      values=values.astype(np.float32).tobytes(), exclusion_codes=codes.tobytes(),
                      exclusion_keys=list(RULE_NAMES), positions=np.stack([rows, columns]).astype(np.int32).tobytes(),
                      need_levels=rules.query_levels.astype(np.int8).tobytes(),
                      capability_levels=rules.candidate_levels.astype(np.int8).tobytes())


def pair_score(event_id, need_id, capability_id):
    """Score of a pair from the last ranking and why it is forbidden, if it is.

    Returns
    -------
    (float or None, str)
        ``(None, "")`` when the event was never ranked or the pair is newer than the
        ranking; ``(-inf, rule)`` for a forbidden pair (``clearance``, ``same_org``, ``excluded``).
    """
    table = _score_lookup(event_id)
    if table is None:
        return None, ""
    need_at, capability_at, lookup = table
    if need_id not in need_at or capability_id not in capability_at:
        return None, ""
    return lookup(need_at[need_id], capability_at[capability_id])


def _score_lookup(event_id):
    row = db.session.execute(select(ScoreTable.id, ScoreTable.created_at).where(ScoreTable.event_id == event_id)).first()
    if row is None:
        return None
    cache = current_app.extensions.setdefault("matcher_score_tables", {})
    key = (event_id, row.id)
    with _SCORE_CACHE_LOCK:
        if key not in cache:
            table = db.session.get(ScoreTable, row.id)
            cache.clear()
            cache[key] = ({n: i for i, n in enumerate(table.need_ids)},
                          {c: j for j, c in enumerate(table.capability_ids)}, _lookup(table))
        return cache[key]


def _lookup(table):
    """``lookup(i, j) -> (score or None, rule)`` over a stored table of either layout."""
    values = np.frombuffer(table.values, dtype=np.float32)
    codes = np.frombuffer(table.exclusion_codes, dtype=np.uint8)
    keys = table.exclusion_keys
    if table.layout != "pairs":
        shape = (len(table.need_ids), len(table.capability_ids))
        values, codes = values.reshape(shape), codes.reshape(shape)
        return lambda i, j: (float(values[i, j]), keys[codes[i, j]])
    rows, columns = np.frombuffer(table.positions, dtype=np.int32).reshape(2, -1)
    at = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(rows, columns))}
    need_levels = np.frombuffer(table.need_levels, dtype=np.int8)
    capability_levels = np.frombuffer(table.capability_levels, dtype=np.int8)

    def lookup(i, j):
        if need_levels[i] < capability_levels[j]:
            return float("-inf"), "clearance"
        k = at.get((i, j))
        # A pair allowed by every rule but not among the need's best has no stored score.
        return (None, "") if k is None else (float(values[k]), keys[codes[k]])

    return lookup


def job_status(job):
    """JSON-ready status of a job (the progress bar polls this)."""
    stage = "done" if job.status == "done" else job.stage
    return {"id": job.id, "event_id": job.event_id, "kind": job.kind, "status": job.status,
            "progress": job.progress, "stage": stage, "stage_label": str(STAGES.get(stage, stage)),
            "error": job.error or None,
            "finished": job.status in ("done", "failed")}
