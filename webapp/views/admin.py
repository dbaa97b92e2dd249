"""Administration (administrators): accounts and the audit log."""
from __future__ import annotations

import io

import pandas as pd
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from matcher.export import neutralise_formulas

from .. import MAX_RECORD_ID, audit
from ..db import db
from ..models import AuditEntry, Event, Organisation, OrganiserEvent, User
from ..services.accounts import create_user
from ..ui import attachment
from ..visibility import ROLES

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_COLUMNS = ("id", "created_at", "username", "action", "target", "detail", "remote_addr")


@bp.route("/users", methods=["GET", "POST"])
def users():
    if request.method == "POST":
        form = request.form
        try:
            user = create_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                               org=form.get("org", "").strip() or None,
                               event_ids=[int(e) for e in form.getlist("events") if e.isdigit() and int(e) <= MAX_RECORD_ID])
        except ValueError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            audit.record("user_created", user.username, f"role={user.role}")
            flash(_("已创建账号“%(name)s”。", name=user.username), "success")
            return redirect(url_for("admin.users"))
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    orgs = {o.id: o.name for o in db.session.scalars(select(Organisation))}
    organised = {}
    for link in db.session.scalars(select(OrganiserEvent)):
        organised.setdefault(link.user_id, []).append(link.event_id)
    return render_template("admin/users.html", users=rows, orgs=orgs, organised=organised, roles=ROLES,
                           events=db.session.scalars(select(Event).order_by(Event.id)).all())


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
