"""Event pairings: the accepted pairs, bulk-accepting top suggestions, resetting decisions."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from . import audit
from .cache import cached
from .errors import ValidationFailed
from .services import pairs as service
from .ui import flash_failure, get_event

bp = Blueprint("pairings", __name__)


@bp.get("/events/<int:event_id>/pairings")
@cached
def index(event_id):
    event = get_event(event_id)
    return render_template("pairings/index.html", pairs=service.accepted_pairs(event.id))


@bp.post("/events/<int:event_id>/pairings/bulk")
def bulk(event_id):
    event = get_event(event_id)
    try:
        per_need = int(request.form.get("per_need", "1"))
        min_score = float(request.form["min_score"]) if request.form.get("min_score", "").strip() else None
    except ValueError:
        per_need, min_score = 0, None
    try:
        added = service.accept_top(event, per_need, min_score=min_score)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("decision", f"event {event.id}", f"bulk accept per_need={per_need} added={added}")
        flash(_("已批量接受 %(n)s 个配对。", n=added), "success")
    return redirect(url_for("pairings.index", event_id=event.id))


@bp.post("/events/<int:event_id>/pairings/reset")
def reset(event_id):
    event = get_event(event_id)
    service.clear_all(event)
    audit.record("decision", f"event {event.id}", "reset all decisions")
    flash(_("已清除全部配对决定。"), "success")
    return redirect(url_for("pairings.index", event_id=event.id))
