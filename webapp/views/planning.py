"""Meeting schedule: run the planner, slot × table grid, hand moves and locks, printable agendas."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..cache import cached
from ..errors import ValidationFailed
from ..services import planning as service
from ..services.ranking import latest_job
from ..ui import flash_failure, get_event
from ..visibility import is_organiser

bp = Blueprint("planning", __name__)


@bp.get("/events/<int:event_id>/schedule")
@cached
def show(event_id):
    event = get_event(event_id)
    meetings = service.meetings(g.viewer, event.id)
    needs, capabilities = service.record_titles(g.viewer, event.id)
    organiser = is_organiser(g.viewer, event.id)
    problems = service.lapsed_meetings(event.id, meetings, needs, capabilities) if organiser else {}
    topics = {m.id: [f"{t['need_id']}/{t['capability_id']}" for t in service.visible_topics(g.viewer, event.id, m)]
              for m in meetings}
    return render_template("planning/show.html", run=service.latest_run(event.id), grid=service.grid(event, meetings),
                           problems=problems, topics=topics,
                           labels=service.slot_labels(event), unscheduled=service.unscheduled(g.viewer, event.id),
                           meetings=meetings, needs=needs, capabilities=capabilities,
                           job=latest_job(event.id, "schedule"), agendas=service.agendas(event.id, meetings))


@bp.post("/events/<int:event_id>/schedule/run")
def run(event_id):
    event = get_event(event_id)
    try:
        service.start_schedule(event)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("schedule_run", f"event {event.id}")
        flash(_("已开始生成日程，完成后页面会自动刷新。"), "info")
    return redirect(url_for("planning.show", event_id=event.id))


@bp.post("/events/<int:event_id>/schedule/meetings/<int:meeting_id>/move")
def move(event_id, meeting_id):
    event = get_event(event_id)
    try:
        service.move_meeting(event, meeting_id, request.form.get("slot", ""), request.form.get("table", ""))
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("schedule_move", f"event {event.id} meeting {meeting_id}",
                     f"slot={request.form.get('slot', '')} table={request.form.get('table', '')}")
        flash(_("会面已锁定到新位置，正在围绕它重新排会。"), "info")
    return redirect(url_for("planning.show", event_id=event.id))


@bp.post("/events/<int:event_id>/schedule/meetings/<int:meeting_id>/<action>")
def lock(event_id, meeting_id, action):
    event = get_event(event_id)
    if action not in ("lock", "unlock"):
        abort(404)
    try:
        service.set_lock(event, meeting_id, action == "lock")
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("schedule_" + action, f"event {event.id} meeting {meeting_id}")
        flash(_("会面已锁定。") if action == "lock" else _("已解除锁定。"), "success")
    return redirect(url_for("planning.show", event_id=event.id, _anchor=f"m{meeting_id}"))


@bp.get("/events/<int:event_id>/agendas")
def agendas(event_id):
    event = get_event(event_id)
    meetings = service.meetings(g.viewer, event.id)
    everyone = service.agendas(event.id, meetings)
    org = request.args.get("org")
    if org is not None and org not in everyone:
        abort(404)
    needs, capabilities = service.record_titles(g.viewer, event.id)
    return render_template("planning/agendas.html", agendas={org: everyone[org]} if org else everyone,
                           labels=service.slot_labels(event), needs=needs, capabilities=capabilities)
