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
