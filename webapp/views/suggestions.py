"""Suggestions per need and per capability (ranked partners, reasons, filters)."""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request
from sqlalchemy import select

from matcher import DOMAINS

from .. import audit, visibility
from ..cache import cached
from ..db import db
from ..models import Capability, Need
from ..services import suggestions as service
from ..services.ranking import latest_job
from ..services.wishes import own_levels
from ..ui import get_event, listing

bp = Blueprint("suggestions", __name__)


@bp.get("/events/<int:event_id>/needs")
@cached
def needs(event_id):
    return _overview(get_event(event_id), "need")


@bp.get("/events/<int:event_id>/capabilities")
@cached
def capabilities(event_id):
    return _overview(get_event(event_id), "capability")


def _overview(event, kind):
    rows = service.overview(g.viewer, event.id, kind, domain=request.args.get("domain", ""))
    record_id = "need_id" if kind == "need" else "capability_id"
    rows, pager = listing(rows, default="id",
                          text=lambda r: f"{getattr(r['record'], record_id)} {r['record'].title} {r['record'].org}",
                          sorts={
                              "id": (lambda r: getattr(r["record"], record_id), False),
                              "score": (lambda r: r["top"].score if r["top"] else float("-inf"), True),
                              "org": (lambda r: r["record"].org, False),
                              "accepted": (lambda r: r["accepted"], True)})
    return render_template("suggestions/list.html", kind=kind, rows=rows, pager=pager, domains=DOMAINS,
                           rank_job=latest_job(event.id, "rank"))


@bp.get("/events/<int:event_id>/needs/<need_id>")
@cached
def need(event_id, need_id):
    event = get_event(event_id)
    record = db.session.scalar(select(Need).filter_by(need_id=need_id)
                               .where(visibility.need_clause(g.viewer, event.id)))
    if record is None:
        abort(404)
    filters = service.Filters.from_args(request.args)
    rows = service.suggestions(g.viewer, event.id, need_id=need_id, filters=filters)
    return render_template("suggestions/detail.html", kind="need", record=record, rows=rows, filters=filters,
                           withheld=service.withheld(g.viewer, event.id, record),
                           wishes=own_levels(g.viewer, event, "need", record),
                           domains=DOMAINS, rank_job=latest_job(event.id, "rank"))


@bp.get("/events/<int:event_id>/capabilities/<capability_id>")
def capability(event_id, capability_id):
    event = get_event(event_id)
    record = db.session.scalar(select(Capability).filter_by(capability_id=capability_id)
                               .where(visibility.capability_clause(g.viewer, event.id)))
    if record is None:
        abort(404)
    if record.classification != "公开":
        audit.record("view_restricted", f"event {event.id} capability {capability_id}", record.classification)
    filters = service.Filters.from_args(request.args)
    rows = service.suggestions(g.viewer, event.id, capability_id=capability_id, filters=filters)
    return render_template("suggestions/detail.html", kind="capability", record=record, rows=rows, filters=filters,
                           wishes=own_levels(g.viewer, event, "capability", record),
                           domains=DOMAINS, rank_job=latest_job(event.id, "rank"))
