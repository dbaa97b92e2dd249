"""Organisation profiles: the district database (list, profile, tiers, history), its import and the expiry list."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import import_templates, org_imports, qualifications
from ..services import organisations as service
from ..ui import attachment, flash_failure

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


@bp.get("")
def index():
    filters = {key: request.args.get(key, "").strip()[:100] for key in ("kind", "tier", "town", "industry", "text")}
    return render_template("organisations/index.html", rows=service.listing(g.viewer, **filters), filters=filters,
                           tiers=service.TIERS, institute_types=service.INSTITUTE_TYPES,
                           revenue_bands=service.REVENUE_BANDS, editable=service.may_edit_all(g.viewer))


@bp.post("")
def create():
    try:
        organisation = service.create(g.viewer, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
        return redirect(url_for("organisations.index"))
    audit.record("org_profile_created", organisation.name)
    flash(_("已新建单位档案“%(name)s”。", name=organisation.name), "success")
    return redirect(url_for("organisations.show", org_id=organisation.id))


@bp.get("/<int:org_id>")
def show(org_id):
    organisation, profile, tiers, changes = service.details(g.viewer, org_id)
    return render_template("organisations/show.html", organisation=organisation, profile=profile, tiers=tiers,
                           changes=changes, all_tiers=service.TIERS, institute_types=service.INSTITUTE_TYPES,
                           revenue_bands=service.REVENUE_BANDS, editable=service.may_edit_all(g.viewer),
                           member_fields=service.MEMBER_FIELDS, labels=service.FIELD_LABELS,
                           status={t.id: service.tier_status(t) for t in tiers},
                           may_edit=service.may_edit_all(g.viewer) or g.viewer.org == organisation.name)


@bp.post("/<int:org_id>")
def update(org_id):
    try:
        changed = service.update(g.viewer, org_id, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("org_profile_updated", str(org_id), f"{changed} fields")
        flash(_("已保存（%(n)s 项有变化）。", n=changed), "success")
    return redirect(url_for("organisations.show", org_id=org_id))


@bp.post("/<int:org_id>/tiers")
def set_tier(org_id):
    try:
        service.set_tier(g.viewer, org_id, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("org_tier_set", str(org_id), request.form.get("tier", ""))
        flash(_("梯队认定已保存。"), "success")
    return redirect(url_for("organisations.show", org_id=org_id, _anchor="tiers"))


@bp.post("/<int:org_id>/tiers/<int:tier_id>/delete")
def remove_tier(org_id, tier_id):
    try:
        service.remove_tier(g.viewer, org_id, tier_id)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("org_tier_removed", str(org_id), str(tier_id))
        flash(_("已删除该梯队认定。"), "success")
    return redirect(url_for("organisations.show", org_id=org_id, _anchor="tiers"))


@bp.get("/expiring")
def expiring():
    return render_template("organisations/expiring.html", rows=service.expiring(g.viewer),
                           qualifications=qualifications.expiring(g.viewer), tiers_shown=service.may_edit_all(g.viewer),
                           days=service.EXPIRY_NOTICE_DAYS, today=dt.date.today())


@bp.route("/import", methods=["GET", "POST"])
def import_file():
    result, problems, status = None, [], 200
    if request.method == "POST":
        try:
            result = org_imports.import_organisations(g.viewer, request.files.get("file") or _no_file())
        except ValidationFailed as failure:
            flash(str(failure.description), "error")
            problems, status = failure.errors, 422
        else:
            audit.record("org_import", result["file"], f"new={result['new']} updated={result['updated']}")
    return render_template("organisations/import.html", result=result, problems=problems,
                           tiers=service.TIERS, columns=org_imports.COLUMNS), status


@bp.get("/import/template.xlsx")
def import_template():
    return attachment(import_templates.organisation_template_bytes(), _("单位表导入模板.xlsx"),
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "template-organisations.xlsx")


def _no_file():
    raise ValidationFailed(_("请选择要上传的文件。"))
