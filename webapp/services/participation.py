"""A participant's own view of an event: its meetings (the personal agenda and its calendar file) and its activity.

An organisation's members see their organisation's agenda; organisers see any participant's.
Meeting partners, topics and titles follow the visibility rule of the viewer.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select

from .. import visibility
from ..db import db
from ..models import Capability, Meeting, MeetingRequest, Need
from .planning import meetings as planned_meetings
from .planning import record_titles, visible_topics


def agenda_org(viewer, event_id, requested=None):
    """Whose agenda the viewer opens: their own organisation, or (organisers) any organisation asked for."""
    if visibility.is_organiser(viewer, event_id):
        return requested or None
    return viewer.org or None


def slot_times(event, slot):
    """``(start, end)`` datetimes of a slot on the event's date (None without a date), in the app's time zone."""
    if event.date is None:
        return None
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    try:
        hour, minute = (int(part) for part in (event.start_time or "09:00").split(":"))
    except ValueError:
        hour, minute = 9, 0
    start = dt.datetime.combine(event.date, dt.time(hour, minute), tzinfo=zone)
    step = dt.timedelta(minutes=event.slot_minutes)
    return start + step * (slot - 1), start + step * slot


def agenda(viewer, event, org):
    """The organisation's meetings in slot order, as the viewer may see them.

    Returns
    -------
    list of dict
        ``meeting`` (Meeting), ``partner`` (organisation), ``side`` ("need" when ``org`` brings the need),
        ``need``, ``capability`` (records or None), ``topics`` (list of (Need, Capability) merged into it),
        ``times`` ((start, end) or None).
    """
    if not org:
        return []
    needs, capabilities = record_titles(viewer, event.id)
    rows = []
    for meeting in planned_meetings(viewer, event.id):
        if org not in (meeting.need_org, meeting.capability_org):
            continue
        side = "need" if meeting.need_org == org else "capability"
        topics = [(needs.get(t["need_id"]), capabilities.get(t["capability_id"]))
                  for t in visible_topics(viewer, event.id, meeting)]
        rows.append({"meeting": meeting, "side": side,
                     "partner": meeting.capability_org if side == "need" else meeting.need_org,
                     "need": needs.get(meeting.need_id), "capability": capabilities.get(meeting.capability_id),
                     "topics": topics, "times": slot_times(event, meeting.slot)})
    return sorted(rows, key=lambda row: row["meeting"].slot)


def calendar_file(viewer, event, org):
    """The organisation's agenda as an iCalendar file (bytes), one VEVENT per meeting."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//matcher//docking event agenda//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{event.name} · {org}")
    stamp = dt.datetime.now(dt.UTC)
    for row in agenda(viewer, event, org):
        if row["times"] is None:
            continue
        meeting, start_end = row["meeting"], row["times"]
        entry = Event()
        entry.add("uid", f"event-{event.id}-meeting-{meeting.need_id}-{meeting.capability_id}@matcher")
        entry.add("dtstamp", stamp)
        entry.add("dtstart", start_end[0])
        entry.add("dtend", start_end[1])
        entry.add("summary", f"{row['partner']} · {meeting.table_no} 号桌")
        titles = [row["need"].title if row["need"] else meeting.need_id,
                  row["capability"].title if row["capability"] else meeting.capability_id]
        titles += [item.title for pair in row["topics"] for item in pair if item is not None]
        entry.add("description", "\n".join(titles))
        if event.venue:
            entry.add("location", f"{event.venue} {meeting.table_no} 号桌")
        calendar.add_component(entry)
    return calendar.to_ical()


def summary(viewer, event_id):
    """The viewer's organisation in the event: its needs, capabilities, meetings and open requests (counts)."""
    org = viewer.org
    if not org:
        return None

    def count(query):
        return db.session.scalar(select(func.count()).select_from(query.subquery()))

    return {
        "org": org,
        "needs": count(select(Need.id).where(Need.event_id == event_id, Need.org == org)),
        "capabilities": count(select(Capability.id).where(Capability.event_id == event_id, Capability.org == org)),
        "meetings": count(select(Meeting.id).where(Meeting.event_id == event_id,
                                                   or_(Meeting.need_org == org, Meeting.capability_org == org))),
        "pending_requests": len([r for r in _own_requests(viewer, event_id) if r.status == "pending"]),
    }


def _own_requests(viewer, event_id):
    own_needs, own_capabilities = visibility.own_ids(viewer, event_id)
    return db.session.scalars(select(MeetingRequest).where(
        MeetingRequest.event_id == event_id, or_(MeetingRequest.need_id.in_(own_needs),
                                                 MeetingRequest.capability_id.in_(own_capabilities)))).all()
