"""The ranking job: embed and rank an event's records in the background and store the results.

Suggestions (top-k per need and per capability, with reasons) go to the
``suggestions`` table and the need-direction score of every pair to
``score_tables``, so pages and decisions read precomputed scores.
"""
from __future__ import annotations

import functools
import threading

import numpy as np
import pandas as pd
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select

from matcher import CLEARANCES, clearance_allows, rank_pairs, score_matrix

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Event, Job, Need, ScoreTable, Suggestion, WithheldMatch
from ..state import get_embedder, get_jobs
from .frames import pairs_records, records_frame

SUGGESTION_COLUMNS = ["need_id", "capability_id", "rank", "score", "score_semantic", "score_lexical",
                      "domain_match", "reason", "shared_terms", "need_org", "capability_org", "need_title",
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
    progress(20, "need")
    by_need_scores = score_matrix(needs, capabilities, direction="need", **options)
    by_need = rank_pairs(needs, capabilities, top_k=top_k, direction="need", scores=by_need_scores)
    progress(60, "capability")
    by_capability = rank_pairs(needs, capabilities, top_k=top_k, direction="capability", **options)
    progress(90, "saving")
    db.session.execute(delete(Suggestion).where(Suggestion.event_id == event_id).execution_options(event_id=event_id))
    db.session.execute(delete(ScoreTable).where(ScoreTable.event_id == event_id).execution_options(event_id=event_id))
    for direction, pairs in (("need", by_need), ("capability", by_capability)):
        rows = pairs_records(pairs, SUGGESTION_COLUMNS)
        if rows:
            db.session.execute(insert(Suggestion).execution_options(event_id=event_id),
                               [dict(r, event_id=event_id, direction=direction) for r in rows])
    db.session.add(_score_table(event_id, by_need_scores))
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
    need_at, capability_at, values, codes, keys = table
    if need_id not in need_at or capability_id not in capability_at:
        return None, ""
    i, j = need_at[need_id], capability_at[capability_id]
    return float(values[i, j]), keys[codes[i, j]]


def _score_lookup(event_id):
    row = db.session.execute(select(ScoreTable.id, ScoreTable.created_at).where(ScoreTable.event_id == event_id)).first()
    if row is None:
        return None
    cache = current_app.extensions.setdefault("matcher_score_tables", {})
    key = (event_id, row.id)
    with _SCORE_CACHE_LOCK:
        if key not in cache:
            table = db.session.get(ScoreTable, row.id)
            shape = (len(table.need_ids), len(table.capability_ids))
            values = np.frombuffer(table.values, dtype=np.float32).reshape(shape)
            codes = np.frombuffer(table.exclusion_codes, dtype=np.uint8).reshape(shape)
            cache.clear()
            cache[key] = ({n: i for i, n in enumerate(table.need_ids)},
                          {c: j for j, c in enumerate(table.capability_ids)}, values, codes, table.exclusion_keys)
        return cache[key]


def job_status(job):
    """JSON-ready status of a job (the progress bar polls this)."""
    stage = "done" if job.status == "done" else job.stage
    return {"id": job.id, "event_id": job.event_id, "kind": job.kind, "status": job.status,
            "progress": job.progress, "stage": stage, "stage_label": str(STAGES.get(stage, stage)),
            "error": job.error or None,
            "finished": job.status in ("done", "failed")}
