"""Roadshow programme (路演安排): ``matcher.plan_roadshow`` over the stored suggestions."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from ..db import db
from ..models import Suggestion
from .frames import records_frame
from .ranking import SUGGESTION_COLUMNS


def suggestion_frame(viewer, event_id):
    """The need-direction suggestions of the last ranking as a ``rank_pairs``-shaped DataFrame."""
    from .. import visibility

    rows = db.session.execute(select(*[getattr(Suggestion, c) for c in SUGGESTION_COLUMNS]).where(
        Suggestion.event_id == event_id, Suggestion.direction == "need")).all()
    return pd.DataFrame(visibility.filter_pairs(viewer, event_id, [r._asdict() for r in rows]), columns=SUGGESTION_COLUMNS)


def roadshow_frame(viewer, event, *, invite_top=5):
    """The programme as matcher returns it, limited to the event's tracks; None before any ranking.

    Returns
    -------
    pandas.DataFrame or None
        ``track, order, capability_org, capability_ids, invited_orgs, invited_count, expected_interest``.
    """
    from matcher.planning.roadshow import plan_roadshow

    pairs = suggestion_frame(viewer, event.id)
    if pairs.empty:
        return None
    plan = plan_roadshow(pairs, records_frame(viewer, event.id, "capability"), invite_top=invite_top,
                         track_order=event.tracks or None)
    if event.tracks:
        plan = plan[plan["track"].isin(event.tracks)]
    return plan.reset_index(drop=True)


def programme(viewer, event, *, invite_top=5):
    """``[(track, [talk dict, …]), …]`` in the order of the event's tracks, for the page."""
    plan = roadshow_frame(viewer, event, invite_top=invite_top)
    if plan is None:
        return []
    out = []
    for track, group in plan.groupby("track", sort=False):
        talks = []
        for row in group.sort_values("order").to_dict("records"):
            row["capability_ids"] = _as_list(row["capability_ids"])
            row["invited_orgs"] = _as_list(row["invited_orgs"])
            talks.append(row)
        out.append((track, talks))
    order = {t: i for i, t in enumerate(event.tracks or [])}
    return sorted(out, key=lambda item: order.get(item[0], len(order)))


def _as_list(value):
    if isinstance(value, (list, tuple)):
        return list(value)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [v for v in str(value).replace("；", ";").split(";") if v]
