"""Organisations' security qualifications (保密资质): the list (security officers, organisers of their events) and verifying them."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from matcher import CLEARANCES

from .. import audit
from ..errors import ValidationFailed
from ..services import qualifications as service
from ..ui import flash_failure
from ..visibility import effective_clearance

bp = Blueprint("qualifications", __name__, url_prefix="/admin")


@bp.get("/organisations")
def index():
    rows = service.listing(g.viewer)
    return render_template("qualifications/index.html", organisations=rows, clearances=list(CLEARANCES),
                           effective={o.name: effective_clearance(o) for o in rows})


@bp.post("/organisations")
def verify():
    form = request.form
    try:
        organisation, before = service.verify(
            g.user, name=form.get("name", ""), clearance=form.get("clearance", ""),
            certificate_no=form.get("certificate_no", ""), expires_on=form.get("expires_on", ""),
            kind=form.get("kind", ""))
    except ValidationFailed as failure:
        flash_failure(failure)
        return redirect(url_for("qualifications.index"))
    audit.record("org_verified", organisation.name,
                 f"before: {before}; after: clearance={organisation.clearance} certificate={organisation.certificate_no} "
                 f"expires={organisation.expires_on} verified_by={organisation.verified_by}")
    flash(_("已更新“%(name)s”的保密资质。", name=organisation.name), "success")
    return redirect(url_for("qualifications.index"))
