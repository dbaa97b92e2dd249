"""Decisions on pairs: accept / reject / lock one, the accepted pairs, bulk-accepting top suggestions, resetting."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit
from ..cache import cached
from ..errors import ValidationFailed
from ..services import pairs as service
from ..ui import back, flash_failure, get_event

bp = Blueprint("pairs", __name__)
ACTION_MESSAGES = {"accept": _l("已接受该配对。"), "reject": _l("已拒绝该配对。"), "lock": _l("已接受并锁定该配对。"),
                   "unlock": _l("已解除锁定。"), "clear": _l("已撤销决定。")}


@bp.get("/events/<int:event_id>/pairings")
@cached
def index(event_id):
    event = get_event(event_id)
    return render_template("pairs/index.html", pairs=service.accepted_pairs(g.viewer, event.id))


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
    return redirect(url_for("pairs.index", event_id=event.id))


@bp.post("/events/<int:event_id>/pairings/reset")
def reset(event_id):
    event = get_event(event_id)
    service.clear_all(event)
    audit.record("decision", f"event {event.id}", "reset all decisions")
    flash(_("已清除全部配对决定。"), "success")
    return redirect(url_for("pairs.index", event_id=event.id))


@bp.post("/events/<int:event_id>/decisions")
def decide(event_id):
    event = get_event(event_id)
    form = request.form
    try:
        service.decide(g.viewer, event, form.get("need_id", ""), form.get("capability_id", ""), form.get("action", ""))
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("decision", f"event {event.id} {form['need_id']}↔{form['capability_id']}", form["action"])
        flash(str(ACTION_MESSAGES[form["action"]]), "success")
    return back(url_for("suggestions.need", event_id=event.id, need_id=form.get("need_id", "")))
