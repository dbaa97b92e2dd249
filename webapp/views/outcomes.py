"""Event dashboard: counts per domain, progress checklist, signed outcomes; cross-event history."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from matcher import DOMAINS

from ..cache import cached
from ..db import db
from ..errors import ValidationFailed
from ..models import MeetingRequest
from ..services import deals, participation, reports
from ..services import outcomes as service
from ..services.planning import latest_run
from ..services.ranking import latest_job
from ..ui import flash_failure, get_event
from ..visibility import is_organiser

bp = Blueprint("outcomes", __name__)


@bp.get("/events/<int:event_id>")
@cached
def show(event_id):
    event = get_event(event_id)
    rows, totals = service.domain_table(g.viewer, event.id)
    pending = db.session.scalar(select(func.count()).select_from(MeetingRequest).filter_by(
        event_id=event.id, status="pending")) if is_organiser(g.viewer, event.id) else 0
    return render_template("outcomes/show.html", rows=rows, totals=totals, rank_job=latest_job(event.id, "rank"),
                           run=latest_run(event.id), pending_requests=pending, domains=DOMAINS,
                           outcomes=service.signed_outcomes(g.viewer, event.id),
                           amount_shown=_amounts_shown(event.id), summary=service.outcome_summary(g.viewer, event.id),
                           held=service.meetings_held(g.viewer, event.id), form=request.args,
                           contract_types=service.CONTRACT_TYPES, today=dt.date.today(),
                           own=participation.summary(g.viewer, event.id),
                           report_sections=reports.event_report(g.viewer, event))


def _amounts_shown(event_id):
    return {o.id for o in service.signed_outcomes(g.viewer, event_id) if deals.amount_visible(g.viewer, event_id, o)}


@bp.post("/events/<int:event_id>/outcomes")
def add_outcome(event_id):
    event = get_event(event_id)
    try:
        service.add_outcome(event, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        flash(_("签约成果已记录。"), "success")
    return redirect(url_for("outcomes.show", event_id=event.id, _anchor="outcomes"))


@bp.post("/events/<int:event_id>/outcomes/<int:outcome_id>/delete")
def delete_outcome(event_id, outcome_id):
    event = get_event(event_id)
    service.delete_outcome(event, outcome_id)
    flash(_("已删除该条签约成果。"), "success")
    return redirect(url_for("outcomes.show", event_id=event.id, _anchor="outcomes"))


@bp.post("/events/<int:event_id>/history")
def record_history(event_id):
    event = get_event(event_id)
    try:
        added = service.record_meetings(event)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        flash(_("已将 %(n)s 对单位的会面记入历史；以后的对接会不再重复推荐。", n=added), "success")
    return redirect(url_for("outcomes.show", event_id=event.id, _anchor="outcomes"))


@bp.get("/history")
def history():
    return render_template("outcomes/history.html", rows=service.history(g.viewer), outcomes=service.history_outcomes(g.viewer),
                           domains=DOMAINS)
