"""Event KPIs next to the benchmarks matchmaking products quote (40–60% of requests accepted, at least
2 meetings per participant, 80% of meetings kept).

Definitions (organisers' view, the whole event):

* requests accepted %: approved meeting requests / all requests.
* meetings per participant: over every organisation with a record in the event (0 counts), min and median.
* no-show rate: meetings marked no-show / (meetings in the plan + no-shows); kept % = the rest, less
  meetings either side reported as not held.
* second-meeting rate: meetings where some side answered 继续洽谈 / meetings with any feedback.
* wishes satisfied: 必见 (愿见) wishes whose two organisations meet / all 必见 (愿见) wishes.
"""
from __future__ import annotations

import statistics

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..db import db
from ..models import Meeting, MeetingFeedback, MeetingMark, MeetingRequest, Wish
from .event_day import participants

BENCHMARKS = {"accepted": (0.40, 0.60), "min_meetings": 2, "kept": 0.80}


def _share(part, whole):
    return part / whole if whole else None


def event_kpis(event_id):
    """The event's KPIs.

    Returns
    -------
    dict
        ``requests``, ``accepted`` (share or None), ``meetings``, ``per_participant_min``,
        ``per_participant_median``, ``no_shows``, ``no_show_rate``, ``kept``, ``second_meeting``,
        ``must_wishes``, ``must_satisfied``, ``want_wishes``, ``want_satisfied``; shares are in [0, 1],
        None when there is nothing to divide by.
    """
    requests = db.session.scalars(select(MeetingRequest.status).where(MeetingRequest.event_id == event_id)).all()
    meetings = db.session.scalars(select(Meeting).where(Meeting.event_id == event_id)).all()
    marks = db.session.scalars(select(MeetingMark).where(MeetingMark.event_id == event_id,
                                                         MeetingMark.status == "no_show")).all()
    feedback = db.session.scalars(select(MeetingFeedback).where(MeetingFeedback.event_id == event_id)).all()
    counts = dict.fromkeys(participants(event_id), 0)
    for meeting in meetings:
        for org in (meeting.need_org, meeting.capability_org):
            counts[org] = counts.get(org, 0) + 1
    planned = len(meetings) + len(marks)
    not_held = {(f.need_id, f.capability_id) for f in feedback if not f.happened}
    held = [m for m in meetings if (m.need_id, m.capability_id) not in not_held]
    answered = {(f.need_id, f.capability_id) for f in feedback}
    continuing = {(f.need_id, f.capability_id) for f in feedback if f.interest == "continue"}
    met = {frozenset((m.need_org, m.capability_org)) for m in held}
    out = {"requests": len(requests), "accepted": _share(sum(s == "approved" for s in requests), len(requests)),
           "meetings": len(meetings), "per_participant_min": min(counts.values()) if counts else None,
           "per_participant_median": statistics.median(counts.values()) if counts else None,
           "no_shows": len(marks), "no_show_rate": _share(len(marks), planned),
           "kept": _share(len(held), planned), "second_meeting": _share(len(continuing), len(answered))}
    orgs = _pair_orgs(event_id)
    for level in ("must", "want"):
        wished = {(w.need_id, w.capability_id) for w in db.session.scalars(
            select(Wish).where(Wish.event_id == event_id, Wish.level == level))}
        out[f"{level}_wishes"] = len(wished)
        out[f"{level}_satisfied"] = _share(sum(frozenset(orgs.get(pair, ())) in met for pair in wished), len(wished))
    return out


def _pair_orgs(event_id):
    from ..models import Capability, Need

    needs = dict(db.session.execute(select(Need.need_id, Need.org).where(Need.event_id == event_id)).all())
    capabilities = dict(db.session.execute(select(Capability.capability_id, Capability.org)
                                           .where(Capability.event_id == event_id)).all())
    wished = db.session.execute(select(Wish.need_id, Wish.capability_id).where(Wish.event_id == event_id)).all()
    return {(n, c): (needs.get(n), capabilities.get(c)) for n, c in wished}


#: Planner reason (prefix) → the smallest change that would seat the pair.
FIXES = (
    ("企业已达会面上限", _l("将该企业的会面上限加 1，或把它的另一场会面换成这一对")),
    ("院所已达会面上限", _l("将该院所的会面上限加 1，或把它的另一场会面换成这一对")),
    ("时段已满", _l("增加一个时段或一张洽谈桌")),
    ("双方无共同空闲时段", _l("让一方多留出一个空闲时段")),
    ("得分低于已安排的会面", _l("增加一张洽谈桌或一个时段，或锁定这一对")),
    ("保密资质不足", _l("核验企业的保密资质")),
    ("不见", _l("标记“不见”的一方撤回该意向")),
    ("往届已会面", _l("任一方标记必见或愿见")),
)


def unseated_wishes(event_id):
    """必见/愿见 pairs whose organisations do not meet, with the planner's reason and the smallest change.

    Returns
    -------
    list of dict
        ``need_id``, ``capability_id``, ``need_org``, ``capability_org``, ``levels`` ({side: level}),
        ``reason`` (the planner's, Chinese; "" when the pair was not planned, e.g. before a re-plan) and
        ``fix`` ("" when none is known); must wishes first.
    """
    from ..models import Unscheduled

    orgs = _pair_orgs(event_id)
    met = {frozenset((m.need_org, m.capability_org)) for m in db.session.scalars(
        select(Meeting).where(Meeting.event_id == event_id))}
    reasons = {(u.need_id, u.capability_id): u.reason for u in db.session.scalars(
        select(Unscheduled).where(Unscheduled.event_id == event_id, Unscheduled.kind == "pair"))}
    levels = {}
    for wish in db.session.scalars(select(Wish).where(Wish.event_id == event_id)):
        levels.setdefault((wish.need_id, wish.capability_id), {})[wish.side] = wish.level
    out = []
    for pair, sides in levels.items():
        if not {"must", "want"} & set(sides.values()) or frozenset(orgs.get(pair, ())) in met:
            continue
        reason = "不见" if "never" in sides.values() else reasons.get(pair, "")
        fix = next((str(text) for prefix, text in FIXES if reason.startswith(prefix)), "")
        need_org, capability_org = orgs.get(pair, ("", ""))
        out.append({"need_id": pair[0], "capability_id": pair[1], "need_org": need_org or "",
                    "capability_org": capability_org or "", "levels": sides, "reason": reason, "fix": fix})
    return sorted(out, key=lambda r: ("must" not in r["levels"].values(), r["need_id"], r["capability_id"]))
