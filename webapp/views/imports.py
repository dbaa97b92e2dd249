"""Import needs and capabilities: upload → validation report → confirm (or discard)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .. import audit
from ..db import db
from ..models import ImportBatch
from ..services import import_templates
from ..services import imports as service
from ..ui import attachment, flash_failure, get_event

bp = Blueprint("imports", __name__)
KIND_LABELS = {"need": _l("企业需求"), "capability": _l("院所成果")}


@bp.get("/events/<int:event_id>/imports")
def index(event_id):
    return _index(get_event(event_id))


@bp.post("/events/<int:event_id>/imports")
def upload(event_id):
    event = get_event(event_id)
    kind = request.form.get("kind")
    if kind not in service.LOADERS:
        abort(400, _("请选择导入类型（需求或成果）。"))
    try:
        if request.form.get("no_classified") != "1":
            # The system holds non-classified text only; the uploader must say so for every batch.
            raise service.UploadRejected(_("请确认“本批数据不含涉密信息”后再上传。"))
        batch = service.save_and_validate(event, kind, request.files.get("file") or _no_file())
    except service.UploadRejected as failure:
        return _index(event, failure=failure, kind=kind), 422
    audit.record("import_upload", f"event {event.id} batch {batch.id}",
                 f"kind={kind} file={batch.original_name} rows={batch.n_rows}")
    return redirect(url_for("imports.report", event_id=event.id, batch_id=batch.id))


@bp.get("/events/<int:event_id>/imports/<int:batch_id>")
def report(event_id, batch_id):
    get_event(event_id)
    batch = _batch(event_id, batch_id)
    problems = [dict(p, reason=service.describe_problem(p), sentence=service.locate_problem(p)) for p in batch.problems]
    return render_template("imports/report.html", batch=batch, problems=problems,
                           preview=service.preview(g.viewer, batch),
                           has_rejects=service.rejected_path(batch) is not None)


@bp.post("/events/<int:event_id>/imports/<int:batch_id>/confirm")
def confirm(event_id, batch_id):
    event = get_event(event_id)
    batch = _batch(event_id, batch_id)
    try:
        service.confirm(batch)
    except service.UploadRejected as failure:
        flash_failure(failure)
        return redirect(url_for("imports.report", event_id=event.id, batch_id=batch.id))
    except SQLAlchemyError:
        flash(_("导入失败，数据库未写入任何行。请重试或联系管理员。"), "error")
        return redirect(url_for("imports.report", event_id=event.id, batch_id=batch.id))
    audit.record("import_confirm", f"event {event.id} batch {batch.id}",
                 f"kind={batch.kind} valid={batch.n_valid} new={batch.n_new} updated={batch.n_updated}")
    if batch.n_new or batch.n_updated:
        flash(_("已导入 %(n)s 行（新增 %(new)s，更新 %(updated)s）。", n=batch.n_valid, new=batch.n_new,
                updated=batch.n_updated), "success")
    else:
        flash(_("没有变化：%(n)s 行与已导入的数据完全相同（新增 0，更新 0）。", n=batch.n_valid), "info")
    return redirect(url_for("imports.index", event_id=event.id))


@bp.post("/events/<int:event_id>/imports/<int:batch_id>/discard")
def discard(event_id, batch_id):
    get_event(event_id)
    service.discard(_batch(event_id, batch_id))
    flash(_("已放弃本次导入，未写入任何数据。"), "success")
    return redirect(url_for("imports.index", event_id=event_id))


@bp.get("/events/<int:event_id>/imports/<int:batch_id>/rejected.csv")
def rejected(event_id, batch_id):
    batch = _batch(event_id, batch_id)
    content = service.rejected_bytes(batch)
    if content is None:
        abort(404)
    name = _("未通过校验的行-%(kind)s.csv", kind=KIND_LABELS[batch.kind])
    return attachment(content, name, "text/csv; charset=utf-8", f"rejected-{batch.kind}s.csv")


@bp.get("/imports/template/<kind>.<fmt>")
def template(kind, fmt):
    if kind not in import_templates.COLUMNS or fmt not in ("csv", "xlsx"):
        abort(404)
    content = import_templates.template_bytes(kind, fmt)
    name = _("导入模板-%(kind)s.%(fmt)s", kind=KIND_LABELS[kind], fmt=fmt)
    return attachment(content, name, "text/csv; charset=utf-8" if fmt == "csv" else
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"template-{kind}s.{fmt}")


def _index(event, **extra):
    batches = db.session.scalars(select(ImportBatch).where(ImportBatch.event_id == event.id)
                                 .order_by(ImportBatch.id.desc()).limit(50)).all()
    return render_template("imports/index.html", batches=batches, labels=KIND_LABELS, **extra)


def _batch(event_id, batch_id):
    batch = db.session.scalar(select(ImportBatch).filter_by(event_id=event_id, id=batch_id))
    if batch is None:
        abort(404)
    return batch


def _no_file():
    raise service.UploadRejected(_("请选择要上传的文件。"))

