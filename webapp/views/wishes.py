"""Wishes (必见 / 愿见 / 不见) on a pair, and the event's phase."""
from __future__ import annotations

from flask import Blueprint, flash, g, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import phases
from ..services import wishes as service
from ..ui import back, flash_failure, get_event

bp = Blueprint("wishes", __name__)


@bp.post("/events/<int:event_id>/wishes")
def mark(event_id):
    event = get_event(event_id)
    form = request.form
    try:
        side = service.set_wish(g.viewer, event, form.get("need_id", ""), form.get("capability_id", ""),
                                form.get("level", ""), form.get("side") or None)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("wish", f"event {event.id} {form.get('need_id', '')}/{form.get('capability_id', '')}",
                     f"{side}={form.get('level', '')}")
        flash(_("意向已保存。"), "success")
    return back(url_for("outcomes.show", event_id=event.id))


@bp.post("/events/<int:event_id>/phase")
def phase(event_id):
    event = get_event(event_id)
    dates = {key: request.form.get(f"date_{key}", "") for key in phases.PHASES}
    try:
        phases.set_phase(event, request.form.get("phase", ""), dates, request.form.get("enterprise_wish_weight"),
                         request.form.get("min_meetings"), request.form.get("spare_tables"))
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("event_phase", f"event {event.id}", event.phase)
        flash(_("阶段已更新：%(phase)s。", phase=phases.label(event.phase)), "success")
    return back(url_for("outcomes.show", event_id=event.id))
