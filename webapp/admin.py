"""Administration: accounts (administrators), organisation qualifications (organisers), audit log (administrators)."""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from matcher import CLEARANCES
from matcher.export import neutralise_formulas

from . import audit
from .auth import create_user
from .db import db
from .models import AuditEntry, Event, Organisation, OrganiserEvent, User
from .ui import attachment
from .visibility import ROLES, effective_clearance

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_COLUMNS = ("id", "created_at", "username", "action", "target", "detail", "remote_addr")


@bp.route("/users", methods=["GET", "POST"])
def users():
    if request.method == "POST":
        form = request.form
        try:
            user = create_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                               org=form.get("org", "").strip() or None,
                               event_ids=[int(e) for e in form.getlist("events") if e.isdigit()])
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


@bp.get("/organisations")
def organisations():
    rows = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("admin/organisations.html", organisations=rows, clearances=list(CLEARANCES),
                           effective={o.id: effective_clearance(o) for o in rows})


@bp.post("/organisations")
def verify_organisation():
    form = request.form
    name = (form.get("name") or "").strip()[:200]
    clearance = form.get("clearance", "")
    certificate = (form.get("certificate_no") or "").strip()[:100]
    try:
        expires = dt.date.fromisoformat((form.get("expires_on") or "").strip())
    except ValueError:
        expires = None
    if not name or clearance not in CLEARANCES or (clearance != "无" and (not certificate or expires is None)):
        flash(_("请填写单位名称、资质等级、证书编号和有效期（YYYY-MM-DD）。"), "error")
        return redirect(url_for("admin.organisations"))
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name, kind=form.get("kind") if form.get("kind") in ("institute", "enterprise")
                                    else "enterprise")
        db.session.add(organisation)
    organisation.clearance, organisation.certificate_no, organisation.expires_on = clearance, certificate, expires
    organisation.verified_by = g.user.username
    organisation.verified_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) if clearance != "无" else None
    db.session.commit()
    audit.record("org_verified", name, f"clearance={clearance} certificate={certificate} expires={expires}")
    flash(_("已更新“%(name)s”的保密资质。", name=name), "success")
    return redirect(url_for("admin.organisations"))


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
