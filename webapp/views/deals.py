"""The deal pipeline of an event's pairs: 意向 → 洽谈 → 签约 → 登记."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import deals as service
from ..services.outcomes import CONTRACT_TYPES
from ..ui import flash_failure, get_event

bp = Blueprint("deals", __name__)


@bp.get("/events/<int:event_id>/deals")
def index(event_id):
    event = get_event(event_id)
    rows = service.listing(g.viewer, event.id)
    return render_template("deals/index.html", rows=rows, steps=service.steps(g.viewer, event.id),
                           candidates=service.candidates(g.viewer, event.id), stages=service.STAGES,
                           contract_types=CONTRACT_TYPES,
                           by_stage={s: sum(1 for r in rows if r["stage"] == s) for s in service.STAGES})


@bp.post("/events/<int:event_id>/deals")
def open_deal(event_id):
    event = get_event(event_id)
    try:
        outcome = service.open_deal(g.viewer, event, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("deal_opened", f"event {event.id}", f"{outcome.need_id}|{outcome.capability_id}")
        flash(_("已登记合作意向。"), "success")
    return redirect(url_for("deals.index", event_id=event.id))


@bp.post("/events/<int:event_id>/deals/<int:deal_id>/advance")
def advance(event_id, deal_id):
    event = get_event(event_id)
    try:
        stage = service.advance(g.viewer, event, deal_id, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("deal_advanced", f"event {event.id}", f"deal {deal_id} → {stage}")
        flash(_("已进入“%(stage)s”。", stage=stage), "success")
    return redirect(url_for("deals.index", event_id=event.id, _anchor=f"deal-{deal_id}"))


@bp.post("/events/<int:event_id>/deals/<int:deal_id>/notes")
def note(event_id, deal_id):
    event = get_event(event_id)
    try:
        service.add_note(g.viewer, event, deal_id, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("deal_note", f"event {event.id}", f"deal {deal_id}")
        flash(_("已记录备注。"), "success")
    return redirect(url_for("deals.index", event_id=event.id, _anchor=f"deal-{deal_id}"))
