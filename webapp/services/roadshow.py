"""Roadshow programme (路演安排): ``matcher.plan_roadshow`` over the stored suggestions.

The programme is one plan for the whole event: every stored suggestion and capability, with
each enterprise's *verified* qualification (:func:`webapp.visibility.verified_clearances`, never
the 保密资质 a spreadsheet declared), so the talk order is the same for everyone and a closed
session (内部, 秘密, 机密) invites only enterprises whose verified qualification allows its tier.
The open programme (公开) holds 公开 capabilities only.

What a viewer is shown of it follows :mod:`webapp.visibility`: a talk only when the viewer may
see its capabilities (organisers every session; an enterprise member the open programme and the
closed sessions its qualification allows; an institute member its own talks; an analyst the open
programme), and among the invited enterprises only those whose needs the viewer may see.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from matcher import CLEARANCES, clearance_allows

from .. import visibility
from ..db import db
from ..models import Suggestion
from .frames import records_frame
from .ranking import SUGGESTION_COLUMNS


def suggestion_frame(viewer, event_id):
    """The need-direction suggestions of the last ranking as a ``rank_pairs``-shaped DataFrame."""
    rows = db.session.execute(select(*[getattr(Suggestion, c) for c in SUGGESTION_COLUMNS]).where(
        Suggestion.event_id == event_id, Suggestion.direction == "need")).all()
    return pd.DataFrame(visibility.filter_pairs(viewer, event_id, [r._asdict() for r in rows]),
                        columns=SUGGESTION_COLUMNS)


def roadshow_frame(viewer, event, *, invite_top=5):
    """The programme as matcher returns it, limited to the event's tracks and to what ``viewer`` may see.

    Returns
    -------
    pandas.DataFrame or None
        ``session, track, order, capability_org, capability_ids, invited_orgs, invited_count,
        expected_interest`` (``order`` and the counts are the whole programme's); None before
        any ranking.
    """
    from matcher.planning.roadshow import plan_roadshow

    pairs = suggestion_frame(visibility.SYSTEM, event.id)
    if pairs.empty:
        return None
    pairs["need_clearance"] = visibility.verified_clearances(pairs["need_org"])
    plan = plan_roadshow(pairs, records_frame(visibility.SYSTEM, event.id, "capability"), invite_top=invite_top,
                         track_order=event.tracks or None)
    if event.tracks:
        plan = plan[plan["track"].isin(event.tracks)]
    need_ids, capability_ids = visibility.visible_ids(viewer, event.id)
    invitable = set(pairs.loc[pairs["need_id"].isin(need_ids), "need_org"])
    rows = []
    for row in plan.to_dict("records"):
        shown = [c for c in row["capability_ids"].split(";") if c in capability_ids]
        if shown:
            rows.append({**row, "capability_ids": ";".join(shown),
                         "invited_orgs": ";".join(o for o in row["invited_orgs"].split(";") if o in invitable)})
    return pd.DataFrame(rows, columns=plan.columns)


def programme(viewer, event, *, invite_top=5):
    """``[(session, audience, [(track, [talk dict, …]), …]), …]`` for the page, sessions in tier order.

    ``audience`` is the lowest qualification a closed session admits ("" for the open programme).
    """
    plan = roadshow_frame(viewer, event, invite_top=invite_top)
    if plan is None:
        return []
    order = {t: i for i, t in enumerate(event.tracks or [])}
    out = []
    for session, talks in plan.groupby("session", sort=False):
        tracks = []
        for track, group in talks.groupby("track", sort=False):
            rows = [dict(row, capability_ids=_as_list(row["capability_ids"]),
                         invited_orgs=_as_list(row["invited_orgs"]))
                    for row in group.sort_values("order").to_dict("records")]
            tracks.append((track, rows))
        tracks.sort(key=lambda item: order.get(item[0], len(order)))
        out.append((session, audience(session), tracks))
    return out


def audience(tier):
    """The lowest qualification that may attend a session of ``tier`` ("" for 公开, which is open to all)."""
    if clearance_allows("无", tier):
        return ""
    return next(c for c in CLEARANCES if clearance_allows(c, tier))


def _as_list(value):
    return [v for v in str(value).split(";") if v]
