"""Administration (administrators): accounts and the audit log."""
from __future__ import annotations

import io

import pandas as pd
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from matcher.export import neutralise_formulas

from .. import MAX_RECORD_ID, audit
from ..db import db
from ..models import AuditEntry, Event, Organisation, OrganiserEvent, User
from ..services import accounts
from ..ui import attachment
from ..visibility import ROLES

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_COLUMNS = ("id", "created_at", "username", "action", "target", "detail", "remote_addr")


@bp.route("/users", methods=["GET", "POST"])
def users():
    if request.method == "POST":
        form = request.form
        try:
            user = accounts.create_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                                        org=form.get("org", "").strip() or None, event_ids=_event_ids(form))
        except accounts.AccountError as error:
            db.session.rollback()
            flash(error.localised(), "error")
            return _users_page(form), 422
        audit.record("user_created", user.username, f"role={user.role}")
        flash(_("已创建账号“%(name)s”。", name=user.username), "success")
        return redirect(url_for("admin.users"))
    return _users_page({})


@bp.post("/users/<int:user_id>/events")
def user_events(user_id):
    user = _user(user_id)
    try:
        added, removed = accounts.set_organised_events(user, _event_ids(request.form))
    except accounts.AccountError as error:
        db.session.rollback()
        flash(error.localised(), "error")
    else:
        audit.record("user_events", user.username, f"added={added} removed={removed}")
        flash(_("已更新“%(name)s”负责的对接会。", name=user.username), "success")
    return redirect(url_for("admin.users", _anchor=f"u{user.id}"))


@bp.post("/users/<int:user_id>/active")
def user_active(user_id):
    user = _user(user_id)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(user, active, by=g.user)
    except accounts.AccountError as error:
        db.session.rollback()
        flash(error.localised(), "error")
    else:
        audit.record("user_activated" if active else "user_deactivated", user.username)
        flash(_("已启用“%(name)s”。", name=user.username) if active else
              _("已停用“%(name)s”，其所有会话已退出。", name=user.username), "success")
    return redirect(url_for("admin.users", _anchor=f"u{user.id}"))


@bp.post("/users/<int:user_id>/password")
def user_password(user_id):
    user = _user(user_id)
    try:
        accounts.set_password(user, request.form.get("password", ""))
    except accounts.AccountError as error:
        db.session.rollback()
        flash(error.localised(), "error")
    else:
        audit.record("password_reset", user.username)
        flash(_("已为“%(name)s”重设密码，其所有会话已退出。", name=user.username), "success")
    return redirect(url_for("admin.users", _anchor=f"u{user.id}"))


def _users_page(form):
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    orgs = {o.id: o.name for o in db.session.scalars(select(Organisation))}
    organised = {}
    for link in db.session.scalars(select(OrganiserEvent)):
        organised.setdefault(link.user_id, set()).add(link.event_id)
    return render_template("admin/users.html", users=rows, orgs=orgs, organised=organised, roles=ROLES, form=form,
                           events=db.session.scalars(select(Event).order_by(Event.id)).all())


def _user(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _event_ids(form):
    return [int(e) for e in form.getlist("events") if e.isdigit() and int(e) <= MAX_RECORD_ID]


@bp.get("/audit")
def audit_log():
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(500)).all()
    return render_template("admin/audit.html", entries=rows)


@bp.get("/audit.csv")
def audit_csv():
    rows = db.session.execute(select(*[getattr(AuditEntry, c) for c in AUDIT_COLUMNS]).order_by(AuditEntry.id)).all()
    frame = neutralise_formulas(pd.DataFrame([tuple(r) for r in rows], columns=list(AUDIT_COLUMNS)).astype(object))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    audit.record("export", "audit_log", f"{len(frame)} rows")
    return attachment(buffer.getvalue().encode("utf-8-sig"), "audit-log.csv", "text/csv; charset=utf-8",
                      "audit-log.csv")
