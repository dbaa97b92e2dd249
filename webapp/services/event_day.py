"""The day itself: the check-in desk, no-shows per meeting, the standby list and re-planning freed slots.

Re-planning keeps every published meeting that still takes place at its slot and table
(:func:`matcher.planning.replan_meetings`); standby pairs are the planner's candidates that are
not in the plan and whose two organisations have both checked in (when anyone has).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from matcher.planning.replan import replan_meetings

from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, CheckIn, Event, Meeting, MeetingMark, Need
from . import phases
from .planning import _candidate_pairs, _store, slot_labels

MEETING_FRAME = ["slot", "table", "need_id", "capability_id", "need_org", "capability_org", "score"]


def participants(event_id):
    """Every organisation with a need or capability in the event, sorted."""
    names = set(db.session.scalars(select(Need.org).where(Need.event_id == event_id)))
    names |= set(db.session.scalars(select(Capability.org).where(Capability.event_id == event_id)))
    return sorted(name for name in names if name)


def checked_in(event_id):
    """``{organisation: CheckIn}``."""
    return {c.org: c for c in db.session.scalars(select(CheckIn).where(CheckIn.event_id == event_id))}


def desk(event, query=""):
    """Rows for the check-in desk: ``org``, ``checked_in`` (CheckIn or None), ``meetings`` (count), filtered by name."""
    query = (query or "").strip().lower()
    arrived = checked_in(event.id)
    counts = {}
    for meeting in db.session.scalars(select(Meeting).where(Meeting.event_id == event.id)):
        for org in (meeting.need_org, meeting.capability_org):
            counts[org] = counts.get(org, 0) + 1
    return [{"org": org, "checked_in": arrived.get(org), "meetings": counts.get(org, 0)}
            for org in participants(event.id) if query in org.lower()]


def check_in(viewer, event, org, *, undo=False):
    """Record (or undo) an organisation's arrival.

    Raises
    ------
    ValidationFailed
        The organisation takes no part in the event, or the phase is not 现场.
    """
    phases.require(viewer, event, "day")
    if org not in participants(event.id):
        raise ValidationFailed(_("“%(org)s”不是本对接会的参会单位。", org=org), [{"field": "org", "message": org}])
    row = db.session.scalar(select(CheckIn).filter_by(event_id=event.id, org=org))
    if undo and row is not None:
        db.session.delete(row)
    elif not undo and row is None:
        db.session.add(CheckIn(event_id=event.id, org=org, username=viewer.username or ""))
    db.session.commit()


def mark_no_show(viewer, event, meeting_id, *, undo=False):
    """Mark a published meeting as not taking place (its slot is freed at the next re-plan), or undo it."""
    phases.require(viewer, event, "day")
    meeting = db.session.scalar(select(Meeting).filter_by(event_id=event.id, id=meeting_id))
    if meeting is None:
        raise ValidationFailed(_("会面不存在，日程可能已更新。"))
    mark = db.session.scalar(select(MeetingMark).filter_by(event_id=event.id, need_id=meeting.need_id,
                                                           capability_id=meeting.capability_id))
    if undo and mark is not None:
        db.session.delete(mark)
    elif not undo and mark is None:
        db.session.add(MeetingMark(event_id=event.id, need_id=meeting.need_id, capability_id=meeting.capability_id,
                                   status="no_show", slot=meeting.slot, username=viewer.username or ""))
    db.session.commit()
    return meeting


def no_shows(event_id):
    """``{(need_id, capability_id): MeetingMark}`` of meetings marked as no-shows."""
    return {(m.need_id, m.capability_id): m for m in db.session.scalars(
        select(MeetingMark).where(MeetingMark.event_id == event_id, MeetingMark.status == "no_show"))}


def _published(event_id):
    rows = db.session.scalars(select(Meeting).where(Meeting.event_id == event_id)).all()
    return pd.DataFrame([[m.slot, m.table_no, m.need_id, m.capability_id, m.need_org, m.capability_org, m.score]
                         for m in rows], columns=MEETING_FRAME)


def standby(event):
    """Candidate pairs not in the plan whose organisations are both present, best weight first.

    Returns
    -------
    pandas.DataFrame
        Candidate columns (``need_id``, ``capability_id``, ``need_org``, ``capability_org``, ``score``,
        ``weight``, …); present = checked in, or everyone while nobody has checked in.
    """
    candidates, _forbidden = _candidate_pairs(event)
    published = _published(event.id)
    taken = set(zip(published["need_id"], published["capability_id"]))
    met = {frozenset(pair) for pair in zip(published["need_org"], published["capability_org"])}
    arrived = set(checked_in(event.id))
    keep = [(n, c) not in taken and frozenset((a, b)) not in met and (not arrived or {a, b} <= arrived)
            for n, c, a, b in zip(candidates["need_id"], candidates["capability_id"], candidates["need_org"],
                                  candidates["capability_org"])]
    return candidates[keep].sort_values(["weight", "score"], ascending=False).reset_index(drop=True)


def current_slot(event, now=None):
    """The first slot that has not started yet on the event's day (1 before the day or without a date)."""
    if event.date is None:
        return 1
    now = now or dt.datetime.now()
    if now.date() != event.date:
        return 1 if now.date() < event.date else event.slots + 1
    labels = slot_labels(event)
    starts = {slot: dt.datetime.combine(event.date, dt.time.fromisoformat(label[:5]))
              for slot, label in labels.items()}
    later = [slot for slot, start in starts.items() if start > now]
    return min(later) if later else event.slots + 1


def replan(viewer, event, *, from_slot=None):
    """Free the no-show meetings and fill free places from ``from_slot`` on from standby; nothing kept moves.

    Raises
    ------
    ValidationFailed
        No published plan, a slot outside the grid, or the phase is not 现场.
    """
    phases.require(viewer, event, "day")
    published = _published(event.id)
    if published.empty:
        raise ValidationFailed(_("还没有日程：请先生成并发布日程。"))
    start = current_slot(event) if from_slot in (None, "") else _slot(from_slot, event)
    if start > event.slots:
        raise ValidationFailed(_("今天的时段已全部开始，无法再补排。"))
    marked = pd.DataFrame(list(no_shows(event.id)), columns=["need_id", "capability_id"])
    plan = replan_meetings(published, standby(event), slots=event.slots, tables=event.tables, no_shows=marked,
                           from_slot=start, max_meetings=event.max_meetings,
                           time_limit=float(current_app.config["SCHEDULE_TIME_LIMIT"]))
    _store(db.session.get(Event, event.id), plan, [])
    return plan


def _slot(value, event):
    try:
        slot = int(str(value).strip())
    except ValueError:
        slot = 0
    if not 1 <= slot <= event.slots:
        raise ValidationFailed(_("时段须为 1–%(limit)s 的整数。", limit=event.slots),
                               [{"field": "from_slot", "message": f"1..{event.slots}"}])
    return slot
