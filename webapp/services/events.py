"""Events: validate the event form, create, update and delete events, load the sample event."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

import matcher
from matcher import DOMAINS

from ..db import db
from ..errors import ValidationFailed
from ..models import (
    Capability,
    CheckIn,
    Decision,
    Event,
    ImportBatch,
    InboxMessage,
    Job,
    Meeting,
    MeetingFeedback,
    MeetingMark,
    MeetingRequest,
    Need,
    Outcome,
    ScheduleRun,
    ScoreTable,
    Suggestion,
    Unscheduled,
    Wish,
    WithheldMatch,
)

#: Form field → (minimum, maximum) for the integer settings.
LIMITS = {"slots": (1, 48), "slot_minutes": (5, 240), "tables": (1, 500), "max_meetings": (1, 48)}
DEFAULTS = {"name": "", "date": "", "venue": "", "tracks": list(DOMAINS), "slots": 8, "slot_minutes": 20,
            "start_time": "09:00", "tables": 20, "max_meetings": 6}


def form_values(event=None):
    """Values to pre-fill the event form with (an event's, else the defaults)."""
    if event is None:
        return dict(DEFAULTS)
    values = {k: getattr(event, k) for k in DEFAULTS}
    values["date"] = event.date.isoformat() if event.date else ""
    return values


def parse_form(form):
    """Check the event form.

    Returns
    -------
    dict
        Typed values for :class:`~webapp.models.Event`.

    Raises
    ------
    ValidationFailed
        With one ``{"field", "message"}`` per bad field; ``values`` holds the raw input to re-display.
    """
    errors, values = [], {}
    name = (form.get("name") or "").strip()
    if not name:
        errors.append({"field": "name", "message": _("请填写对接会名称。")})
    values["name"], values["venue"] = name[:200], (form.get("venue") or "").strip()[:200]
    values["date"] = None
    if (form.get("date") or "").strip():
        try:
            values["date"] = dt.date.fromisoformat(form["date"].strip())
        except ValueError:
            errors.append({"field": "date", "message": _("日期格式应为 YYYY-MM-DD。")})
    tracks = [t for t in form.getlist("tracks") if t in DOMAINS] if hasattr(form, "getlist") else []
    if not tracks:
        errors.append({"field": "tracks", "message": _("请至少选择一个领域分会场。")})
    values["tracks"] = tracks
    for field, (low, high) in LIMITS.items():
        try:
            values[field] = int(str(form.get(field, "")).strip())
            if not low <= values[field] <= high:
                raise ValueError
        except ValueError:
            errors.append({"field": field, "message": _("须为 %(low)s–%(high)s 的整数。", low=low, high=high)})
    start = (form.get("start_time") or "09:00").strip()
    try:
        dt.datetime.strptime(start, "%H:%M")
    except ValueError:
        errors.append({"field": "start_time", "message": _("开始时间格式应为 HH:MM。")})
    values["start_time"] = start[:5]
    if errors:
        failure = ValidationFailed(_("请修正标出的字段。"), errors)
        failure.values = {k: form.get(k, "") for k in DEFAULTS if k != "tracks"} | {"tracks": tracks}
        raise failure
    return values


def create(values, *, creator=None):
    """Create an event; an organiser who creates it becomes its organiser."""
    from ..models import OrganiserEvent

    event = Event(**values)
    db.session.add(event)
    db.session.flush()
    if creator is not None and creator.role == "organiser":
        db.session.add(OrganiserEvent(user_id=creator.id, event_id=event.id))
    db.session.commit()
    return event


def update(event, values):
    for name, value in values.items():
        setattr(event, name, value)
    db.session.commit()
    return event


def delete_event(event):
    """Delete an event and everything recorded for it (the organisation history keeps its rows)."""
    for model in (Meeting, Unscheduled, ScheduleRun, Suggestion, ScoreTable, WithheldMatch, Decision, MeetingRequest,
                  Outcome, Job, ImportBatch, Need, Capability, InboxMessage, Wish, CheckIn, MeetingMark,
                  MeetingFeedback):
        db.session.execute(delete(model).where(model.event_id == event.id).execution_options(event_id=event.id))
    db.session.delete(event)
    db.session.commit()


def listing(viewer):
    """Events, newest date first, with their record counts."""
    from .. import visibility

    events = db.session.scalars(select(Event).where(visibility.event_clause(viewer, Event.id))
                                .order_by(Event.date.desc().nulls_last(), Event.id.desc())).all()
    counts = {}
    if viewer.everything:
        for model, key in ((Need, "needs"), (Capability, "capabilities")):
            for event_id, count in db.session.execute(select(model.event_id, func.count()).group_by(model.event_id)):
                counts.setdefault(event_id, {})[key] = count
    else:  # only what the viewer may see is counted
        for event in events:
            for model, key in ((Need, "needs"), (Capability, "capabilities")):
                counts.setdefault(event.id, {})[key] = db.session.scalar(
                    select(func.count()).select_from(model).where(visibility.clause(viewer, model, event.id)))
    return [(e, counts.get(e.id, {})) for e in events]


def sample_data_dir():
    """Folder with the bundled ``needs.csv`` and ``capabilities.csv`` (``SAMPLE_DATA_DIR`` overrides)."""
    configured = current_app.config.get("SAMPLE_DATA_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(matcher.__file__).resolve().parents[1] / "data", Path.cwd() / "data"]
    for folder in candidates:
        if (folder / "needs.csv").is_file() and (folder / "capabilities.csv").is_file():
            return folder
    raise FileNotFoundError("sample data not found; set SAMPLE_DATA_DIR to a folder with needs.csv and capabilities.csv")


def load_sample(name):
    """Create (or refresh) the sample event from the bundled data; return it.

    Both files go through the same save → validate → confirm path as an upload.
    """
    from werkzeug.datastructures import FileStorage

    from .imports import confirm, save_and_validate

    folder = sample_data_dir()
    event = db.session.scalar(select(Event).where(Event.name == name))
    if event is None:
        event = create({"name": name, "date": dt.date.today() + dt.timedelta(days=14), "venue": _("区科技局报告厅"),
                        "tracks": list(DOMAINS[:5]), "slots": 8, "slot_minutes": 20, "start_time": "09:00",
                        "tables": 20, "max_meetings": 6})
    for kind, file_name in (("need", "needs.csv"), ("capability", "capabilities.csv")):
        with (folder / file_name).open("rb") as handle:
            batch = save_and_validate(event, kind, FileStorage(handle, filename=file_name))
        confirm(batch)
    verify_declared_qualifications(event)
    return event


def verify_declared_qualifications(event):
    """Mark the sample enterprises' declared qualifications as verified (fictional demo certificates)."""
    from ..models import Need, Organisation

    declared = dict(db.session.execute(select(Need.org, Need.clearance).where(Need.event_id == event.id,
                                                                            Need.clearance != "无")).all())
    for name, clearance in declared.items():
        organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
        if organisation is None:
            organisation = Organisation(name=name, kind="enterprise")
            db.session.add(organisation)
        if organisation.verified_at is None:
            organisation.clearance, organisation.certificate_no = clearance, f"DEMO-{abs(hash(name)) % 10**6:06d}"
            organisation.expires_on = dt.date.today() + dt.timedelta(days=365)
            organisation.verified_by = "load-sample"
            organisation.verified_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db.session.commit()
