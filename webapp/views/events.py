"""Events: list, create, edit settings, delete."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from matcher import DOMAINS

from ..errors import ValidationFailed
from ..services import events as service
from ..ui import get_event

bp = Blueprint("events", __name__)


@bp.get("/")
def index():
    return render_template("events/index.html", events=service.listing(g.viewer))


@bp.route("/events/new", methods=["GET", "POST"])
def create():
    values, errors = service.form_values(), {}
    if request.method == "POST":
        try:
            event = service.create(service.parse_form(request.form), creator=g.user)
        except ValidationFailed as failure:
            values, errors = failure.values, {e["field"]: e["message"] for e in failure.errors}
            flash(failure.description, "error")
        else:
            flash(_("已创建对接会“%(name)s”。下一步：导入需求和成果。", name=event.name), "success")
            return redirect(url_for("imports.index", event_id=event.id))
    return render_template("events/form.html", values=values, errors=errors, domains=DOMAINS, creating=True)


@bp.route("/events/<int:event_id>/settings", methods=["GET", "POST"])
def edit(event_id):
    event = get_event(event_id)
    values, errors = service.form_values(event), {}
    if request.method == "POST":
        try:
            service.update(event, service.parse_form(request.form))
        except ValidationFailed as failure:
            values, errors = failure.values, {e["field"]: e["message"] for e in failure.errors}
            flash(failure.description, "error")
        else:
            flash(_("设置已保存。"), "success")
            return redirect(url_for("outcomes.show", event_id=event.id))
    return render_template("events/form.html", values=values, errors=errors, domains=DOMAINS, creating=False)


@bp.post("/events/<int:event_id>/delete")
def delete(event_id):
    event = get_event(event_id)
    if request.form.get("confirm_name", "").strip() != event.name:
        flash(_("删除未执行：请输入对接会名称以确认。"), "error")
        return redirect(url_for("events.edit", event_id=event.id))
    service.delete_event(event)
    flash(_("对接会已删除。"), "success")
    return redirect(url_for("events.index"))
