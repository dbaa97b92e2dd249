"""The sample event's after-life, for demonstrations and the analysts' notebook: organisation database,
accepted pairs, meetings, deals and invitations, all through the services the pages use.

Everything is read from the bundled sample folder (``data/``): ``organisations.csv`` (the district
database, imported like an uploaded file), ``pipeline.csv`` (deals: pair, stage reached, contract type,
amount, days after the event it was signed and registered, a note) and ``invitations.csv`` (enterprises
invited and whether they came). All of it is fictional, like the needs and capabilities.
"""
from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
from werkzeug.datastructures import FileStorage

from ..db import db
from ..visibility import SYSTEM

#: Files of the sample folder this module reads.
FILES = ("organisations.csv", "pipeline.csv", "invitations.csv")


def load_sample_pipeline(event, folder):
    """Import the sample organisation database and give the (ranked, past) sample event its pipeline.

    The event's top suggestion of every need is accepted, the meetings are planned, the deals of
    ``pipeline.csv`` are opened and moved stage by stage (dates counted from the event's date, so the
    event must be at least as old as the latest date), and the enterprises of ``invitations.csv`` are
    invited and marked as come or not. Every step goes through its service as the system viewer.

    Returns
    -------
    dict
        ``organisations`` (import counts), ``accepted``, ``deals``, ``invited``.

    Raises
    ------
    webapp.errors.ValidationFailed
        A file breaks a rule (an organisation row, a deal's stage details, an unknown pair or enterprise).
    """
    from . import deals, org_imports, pairs, targeting
    from .planning import start_schedule

    with (folder / "organisations.csv").open("rb") as handle:
        counts = org_imports.import_organisations(SYSTEM, FileStorage(handle, filename="organisations.csv"))
    accepted = pairs.accept_top(event, 1)
    _wait(start_schedule(event))
    pipeline = pd.read_csv(folder / "pipeline.csv", dtype=str, keep_default_na=False)
    for row in pipeline.to_dict("records"):
        outcome = deals.open_deal(SYSTEM, event, {"pair": f"{row['need_id']}|{row['capability_id']}",
                                                  "description": row["description"]})
        for stage in deals.STAGES[1:deals.STAGES.index(row["stage"]) + 1]:
            deals.advance(SYSTEM, event, outcome.id, _stage_form(row, stage, event.date))
    invitations = pd.read_csv(folder / "invitations.csv", dtype=str, keep_default_na=False)
    ids = _org_ids(invitations["单位名称"])
    targeting.invite(SYSTEM, event, [ids[name] for name in invitations["单位名称"]])
    listed = {i.org_id: i for i in _invitations(event)}
    for name, came in zip(invitations["单位名称"], invitations["是否到会"]):
        targeting.set_attended(SYSTEM, event, listed[ids[name]].id, came == "是")
    return {"organisations": counts, "accepted": accepted, "deals": len(pipeline), "invited": len(invitations)}


def _stage_form(row, stage, event_day):
    """The form that moves a sample deal into ``stage``."""
    after = functools.partial(_after, event_day)
    form = {"to": stage, "note": row["note"] if stage == row["stage"] else ""}
    if stage == "签约":
        form.update(contract_type=row["contract_type"], amount=row["amount"], signed_on=after(row["signed_after_days"]))
    if stage == "登记":
        form.update(registration_no=row["registration_no"], registered_on=after(row["registered_after_days"]))
    return form


def _after(day, days):
    return (day + dt.timedelta(days=int(days))).isoformat()


def _org_ids(names):
    from sqlalchemy import select

    from ..models import Organisation

    return dict(db.session.execute(select(Organisation.name, Organisation.id)
                                   .where(Organisation.name.in_(list(names)))).all())


def _invitations(event):
    from sqlalchemy import select

    from ..models import Invitation

    return db.session.scalars(select(Invitation).where(Invitation.event_id == event.id)).all()


def _wait(job):
    """Wait for a background job; refuse to go on when it failed."""
    from ..errors import ValidationFailed
    from ..models import Job
    from ..state import get_jobs

    get_jobs().wait()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    if job.status != "done":
        raise ValidationFailed(f"{job.kind} job {job.id} failed: {job.error}")
    return job
