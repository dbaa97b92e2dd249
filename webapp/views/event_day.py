"""The day: check-in desk, QR codes of agendas, no-shows, standby and re-planning, feedback, KPIs."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, flash, g, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import event_day as service
from ..services import feedback as feedback_service
from ..services import phases
from ..services.kpis import BENCHMARKS, event_kpis, unseated_wishes
from ..services.planning import meetings as planned_meetings
from ..services.planning import slot_labels
from ..ui import back, flash_failure, get_event

bp = Blueprint("event_day", __name__)


@bp.get("/events/<int:event_id>/desk")
def desk(event_id):
    event = get_event(event_id)
    query = request.args.get("q", "")
    meetings = planned_meetings(g.viewer, event.id)
    return render_template("event_day/desk.html", rows=service.desk(event, query), query=query, meetings=meetings,
                           marks=service.no_shows(event.id), standby=service.standby(event).head(20),
                           labels=slot_labels(event), next_slot=service.current_slot(event),
                           day_open=phases.allows(g.viewer, event, "day"))


@bp.post("/events/<int:event_id>/desk/check-in")
def check_in(event_id):
    event = get_event(event_id)
    org, undo = request.form.get("org", ""), request.form.get("undo") == "1"
    try:
        service.check_in(g.viewer, event, org, undo=undo)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("check_in_undo" if undo else "check_in", f"event {event.id}", org)
        flash(_("已撤销签到：%(org)s", org=org) if undo else _("已签到：%(org)s", org=org), "success")
    return back(url_for("event_day.desk", event_id=event.id))


@bp.post("/events/<int:event_id>/desk/meetings/<int:meeting_id>/no-show")
def no_show(event_id, meeting_id):
    event = get_event(event_id)
    undo = request.form.get("undo") == "1"
    try:
        service.mark_no_show(g.viewer, event, meeting_id, undo=undo)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("no_show_undo" if undo else "no_show", f"event {event.id} meeting {meeting_id}")
        flash(_("已撤销缺席标记。") if undo else _("已标记缺席；重新补排后该时段可安排候补配对。"), "success")
    return back(url_for("event_day.desk", event_id=event.id))


@bp.post("/events/<int:event_id>/desk/replan")
def replan(event_id):
    event = get_event(event_id)
    try:
        plan = service.replan(g.viewer, event, from_slot=request.form.get("from_slot") or None)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("replan", f"event {event.id}", f"from_slot={request.form.get('from_slot', '')}")
        flash(_("已补排：已发布的会面保持不变，共 %(n)s 场会面。", n=len(plan.meetings)), "success")
    return back(url_for("event_day.desk", event_id=event.id))


@bp.get("/events/<int:event_id>/desk/qr.svg")
def qr(event_id):
    """QR code (SVG, made offline) that opens an organisation's check-in at the desk."""
    event = get_event(event_id)
    org = request.args.get("org", "")
    if org not in service.participants(event.id):
        abort(404)
    buffer = io.BytesIO()
    segno.make(url_for("event_day.desk", event_id=event.id, q=org, _external=True), error="m").save(
        buffer, kind="svg", scale=4, title=org)
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


@bp.get("/events/<int:event_id>/feedback")
def feedback(event_id):
    event = get_event(event_id)
    return render_template("event_day/feedback.html", rows=feedback_service.my_meetings(g.viewer, event.id),
                           interests=feedback_service.INTERESTS, reasons=feedback_service.DECLINE_REASONS,
                           labels=slot_labels(event), open=phases.allows(g.viewer, event, "feedback"))


@bp.post("/events/<int:event_id>/feedback/<int:meeting_id>")
def save_feedback(event_id, meeting_id):
    event = get_event(event_id)
    try:
        feedback_service.save(g.viewer, event, meeting_id, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("feedback", f"event {event.id} meeting {meeting_id}", request.form.get("interest", ""))
        flash(_("反馈已保存，谢谢。"), "success")
    return back(url_for("event_day.feedback", event_id=event.id))


@bp.get("/events/<int:event_id>/kpis")
def kpis(event_id):
    event = get_event(event_id)
    return render_template("event_day/kpis.html", kpis=event_kpis(event.id), benchmarks=BENCHMARKS,
                           unseated=unseated_wishes(event.id))
