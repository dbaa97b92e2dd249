"""Suggestions per need and per capability, the ranking job, and accept / reject / lock decisions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matcher import DOMAINS

from . import audit, visibility
from .cache import cached
from .db import db
from .errors import ValidationFailed
from .models import Capability, Need
from .services import pairs as service
from .services.ranking import active_job, latest_job, start_ranking
from .ui import back, flash_failure, get_event

bp = Blueprint("suggestions", __name__)
ACTION_MESSAGES = {"accept": _l("已接受该配对。"), "reject": _l("已拒绝该配对。"), "lock": _l("已接受并锁定该配对。"),
                   "unlock": _l("已解除锁定。"), "clear": _l("已撤销决定。")}


@bp.get("/events/<int:event_id>/needs")
@cached
def needs(event_id):
    event = get_event(event_id)
    rows = service.overview(event.id, "need", domain=request.args.get("domain", ""))
    return render_template("suggestions/list.html", kind="need", rows=rows, domains=DOMAINS,
                           rank_job=latest_job(event.id, "rank"))


@bp.get("/events/<int:event_id>/capabilities")
@cached
def capabilities(event_id):
    event = get_event(event_id)
    rows = service.overview(event.id, "capability", domain=request.args.get("domain", ""))
    return render_template("suggestions/list.html", kind="capability", rows=rows, domains=DOMAINS,
                           rank_job=latest_job(event.id, "rank"))


@bp.get("/events/<int:event_id>/needs/<need_id>")
@cached
def need(event_id, need_id):
    event = get_event(event_id)
    record = db.session.scalar(select(Need).filter_by(need_id=need_id).where(visibility.need_clause(event.id)))
    if record is None:
        abort(404)
    filters = service.Filters.from_args(request.args)
    rows = service.suggestions(event.id, need_id=need_id, filters=filters)
    return render_template("suggestions/detail.html", kind="need", record=record, rows=rows, filters=filters,
                           domains=DOMAINS, rank_job=latest_job(event.id, "rank"))


@bp.get("/events/<int:event_id>/capabilities/<capability_id>")
def capability(event_id, capability_id):
    event = get_event(event_id)
    record = db.session.scalar(select(Capability).filter_by(capability_id=capability_id)
                               .where(visibility.capability_clause(event.id)))
    if record is None:
        abort(404)
    if record.classification != "公开":
        audit.record("view_restricted", f"event {event.id} capability {capability_id}", record.classification)
    filters = service.Filters.from_args(request.args)
    rows = service.suggestions(event.id, capability_id=capability_id, filters=filters)
    return render_template("suggestions/detail.html", kind="capability", record=record, rows=rows, filters=filters,
                           domains=DOMAINS, rank_job=latest_job(event.id, "rank"))


@bp.post("/events/<int:event_id>/rank")
def rank(event_id):
    event = get_event(event_id)
    try:
        already = active_job(event.id, "rank") is not None
        start_ranking(event)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        flash(_("推荐计算已在进行中。") if already else _("已开始计算推荐，完成后页面会自动刷新。"), "info")
    return back(url_for("suggestions.needs", event_id=event.id))


@bp.post("/events/<int:event_id>/decisions")
def decide(event_id):
    event = get_event(event_id)
    form = request.form
    try:
        service.decide(event, form.get("need_id", ""), form.get("capability_id", ""), form.get("action", ""))
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("decision", f"event {event.id} {form['need_id']}↔{form['capability_id']}", form["action"])
        flash(str(ACTION_MESSAGES[form["action"]]), "success")
    return back(url_for("suggestions.need", event_id=event.id, need_id=form.get("need_id", "")))
