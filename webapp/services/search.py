"""Free-text search and organisation pages for institutes and enterprises.

A search text becomes a one-row need (to rank capabilities) or a one-row
capability (to rank needs) and goes through ``matcher.rank_pairs`` like any
record, so search results carry the same scores and reasons as suggestions.
"""
from __future__ import annotations

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from matcher import rank_pairs

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Need
from ..state import get_embedder
from .frames import records_frame
from .suggestions import Filters, suggestions

TARGETS = ("capability", "need")
QUERY_ID = "检索"
MAX_QUERY_CHARS = 2000


def search(viewer, event_id, text, *, target="capability", top_k=10):
    """Rank the event's capabilities (or needs) for a free-text description.

    Parameters
    ----------
    viewer : webapp.visibility.Viewer
        Who searches: only records they may see are ranked, and a search for capabilities
        carries their qualification (an organiser's reaches every tier).
    event_id : int
    text : str
        What the searcher needs or offers, e.g. "我们在碳化硅外延与器件可靠性方面有…".
    target : {"capability", "need"}
        What to return.
    top_k : int

    Returns
    -------
    list of dict
        ``id, org, title, description, domain, score, strength, strength_band, reason, terms, rank``
        (``score`` orders; ``strength`` is the calibrated, absolute match strength).

    Raises
    ------
    ValidationFailed
        Empty or too short text, or an unknown target.
    """
    text = " ".join(str(text or "").split())[:MAX_QUERY_CHARS]
    if target not in TARGETS:
        raise ValidationFailed(_("未知检索对象“%(target)s”。", target=target))
    if len(text) < 2:
        raise ValidationFailed(_("请输入至少两个字的检索内容。"), [{"field": "q", "message": "min 2 characters"}])
    others = records_frame(viewer, event_id, target)
    if others.empty:
        return []
    query = {"id": [QUERY_ID], "org": [""], "title": [text[:40]], "description": [text], "domain": [""]}
    options = {"top_k": top_k, "embedder": get_embedder(), "weights": current_app.config["MATCHER_WEIGHTS"]}
    if target == "capability":
        clearance = "一级" if visibility.is_organiser(viewer, event_id) else viewer.clearance
        pairs = rank_pairs(pd.DataFrame({**query, "clearance": [clearance]}), others, direction="need", **options)
        partner = "capability"
    else:
        pairs = rank_pairs(others, pd.DataFrame({**query, "classification": ["公开"]}), direction="capability",
                           **options)
        partner = "need"
    records = others.set_index("id")
    results = []
    for row in pairs.itertuples(index=False):
        record_id = getattr(row, f"{partner}_id")
        record = records.loc[record_id]
        results.append({"id": record_id, "org": record["org"], "title": record["title"],
                        "description": record["description"], "domain": record["domain"], "rank": int(row.rank),
                        "score": float(row.score), "strength": float(row.strength),
                        "strength_band": row.strength_band, "reason": row.reason,
                        "terms": [t for t in row.shared_terms.split("；") if t]})
    return results


def organisations(viewer, event_id):
    """Every organisation of the event with its number of needs and capabilities, sorted by name."""
    out = {}
    for model, key in ((Need, "needs"), (Capability, "capabilities")):
        for org, count in db.session.execute(select(model.org, func.count()).where(visibility.clause(viewer, model, event_id))
                                             .group_by(model.org)):
            out.setdefault(org, {"org": org, "needs": 0, "capabilities": 0})[key] = count
    return [out[k] for k in sorted(out)]


def organisation(viewer, event_id, org, *, per_item=5):
    """An organisation's needs and capabilities, each with its best candidate partners.

    Returns
    -------
    dict
        ``needs`` and ``capabilities``: lists of ``(record, suggestions)``; both empty when the
        organisation is unknown.
    """
    filters = Filters(eligible_only=True, hide_rejected=True)
    needs = db.session.scalars(select(Need).where(visibility.need_clause(viewer, event_id), Need.org == org)
                               .order_by(Need.need_id)).all()
    capabilities = db.session.scalars(select(Capability).where(visibility.capability_clause(viewer, event_id),
                                                               Capability.org == org)
                                      .order_by(Capability.capability_id)).all()
    return {
        "needs": [(n, suggestions(viewer, event_id, need_id=n.need_id, filters=filters, limit=per_item)) for n in needs],
        "capabilities": [(c, suggestions(viewer, event_id, capability_id=c.capability_id, filters=filters, limit=per_item))
                         for c in capabilities],
    }
