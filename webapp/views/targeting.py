"""Targeting for an event: enterprises by tier, industry, town and match strength; the invitation list."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from matcher.export import write_workbook

from .. import audit
from ..errors import ValidationFailed
from ..services import organisations
from ..services import targeting as service
from ..ui import attachment, flash_failure, get_event

bp = Blueprint("targeting", __name__)


@bp.get("/events/<int:event_id>/targeting")
def index(event_id):
    event = get_event(event_id)
    filters = {key: request.args.get(key, "").strip()[:100] for key in ("tier", "industry", "town")}
    try:
        min_strength = min(max(float(request.args.get("min_strength") or 0), 0.0), 10.0)
    except ValueError:
        min_strength = 0.0
    rows = service.candidates(g.viewer, event, min_strength=min_strength, **filters)
    invited, table = service.invitation_list(g.viewer, event)
    return render_template("targeting/index.html", rows=rows, filters=filters, min_strength=min_strength,
                           tiers=organisations.TIERS, invited=invited, invited_count=len(table))


@bp.post("/events/<int:event_id>/invitations")
def invite(event_id):
    event = get_event(event_id)
    try:
        added = service.invite(g.viewer, event, request.form.getlist("org_id"))
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("invite", f"event {event.id}", f"{added} enterprises")
        flash(_("已加入邀请名单：%(n)s 家企业。", n=added), "success")
    return redirect(url_for("targeting.index", event_id=event.id, _anchor="invited"))


@bp.post("/events/<int:event_id>/invitations/<int:invitation_id>")
def attended(event_id, invitation_id):
    event = get_event(event_id)
    service.set_attended(g.viewer, event, invitation_id, request.form.get("attended") == "1")
    return redirect(url_for("targeting.index", event_id=event.id, _anchor="invited"))


@bp.get("/events/<int:event_id>/invitations.xlsx")
def export(event_id):
    event = get_event(event_id)
    _rows, table = service.invitation_list(g.viewer, event)
    audit.record("export", f"event {event.id}", "invitations.xlsx")
    with tempfile.TemporaryDirectory(prefix="matcher-invitations-") as folder:
        path = write_workbook({str(_("邀请名单"))[:31]: table}, Path(folder) / "invitations.xlsx")
        return attachment(path.read_bytes(), f"{event.name}-{_('邀请名单')}.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "invitations.xlsx")
