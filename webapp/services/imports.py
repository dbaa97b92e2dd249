"""Spreadsheet imports: save the upload, validate it with matcher, then upsert on confirmation.

Nothing reaches the record tables until the organiser confirms, and a
confirmation writes every valid row in one transaction (insert new ids,
update known ones) or nothing at all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from matcher import CLASSIFICATIONS, CLEARANCES, DOMAINS, InputError, load_capabilities, load_needs
from matcher.export import write_frame

from ..db import db
from ..errors import ValidationFailed
from ..models import Event, ImportBatch
from .frames import column_limit, model_of, row_values

LOADERS = {"need": load_needs, "capability": load_capabilities}
#: Headers of the downloadable blank templates (the sample files use the same).
TEMPLATE_HEADERS = {
    "need": ["编号", "单位名称", "需求名称", "需求描述", "所属领域", "关键词", "地区", "联系人", "技术成熟度",
             "合作方式", "保密资质"],
    "capability": ["编号", "单位名称", "成果名称", "成果简介", "所属领域", "关键词", "地区", "联系人", "技术成熟度",
                   "合作方式", "密级"],
}


class UploadRejected(ValidationFailed):
    """The file cannot be imported at all; ``description`` is for the organiser, ``detail`` from matcher."""

    def __init__(self, message, detail=""):
        super().__init__(message, [{"message": detail}] if detail else [])
        self.detail = detail


def save_and_validate(event, kind, upload):
    """Save an uploaded file under the instance folder, validate it and record the result.

    Parameters
    ----------
    event : Event
    kind : {"need", "capability"}
    upload : werkzeug.datastructures.FileStorage

    Returns
    -------
    ImportBatch
        Status "validated", with counts of valid, rejected, new and changed rows.

    Raises
    ------
    UploadRejected
        Wrong file type, empty file, unreadable encoding, missing columns or no rows;
        nothing is kept.
    """
    original = Path(upload.filename or "").name
    suffix = Path(original).suffix.lower()
    if not original:
        raise UploadRejected(_("请选择要上传的文件。"))
    if suffix not in current_app.config["UPLOAD_EXTENSIONS"]:
        raise UploadRejected(_("不支持的文件类型“%(suffix)s”：请上传 .csv 或 .xlsx 文件。", suffix=suffix or "—"))
    folder = _upload_folder(event.id)
    path = folder / f"{kind}s{suffix}"
    upload.save(path)
    try:
        batch = _validate(event, kind, path, original)
    except BaseException:  # a refused or failed upload leaves nothing behind, whatever stopped it
        shutil.rmtree(folder, ignore_errors=True)
        raise
    db.session.add(batch)
    db.session.commit()
    return batch


def _validate(event, kind, path, original):
    if path.stat().st_size == 0:
        raise UploadRejected(_("文件是空的。"))
    try:
        valid, rejected = LOADERS[kind](path, errors="collect")
    except InputError as exc:
        # The file is stored under a fixed safe name; the message names the file the organiser uploaded.
        detail = str(exc).replace(f"{path.name}:", f"{original}:")
        raise UploadRejected(_("无法读取该文件：请检查编码（UTF-8 或 GBK）、文件格式和表头。"), detail) from None
    if valid.empty and rejected.empty:
        raise UploadRejected(_("文件中没有数据行。"))
    limit = column_limit(kind, model_of(kind)[1])
    too_long = valid[valid["id"].astype(str).str.len() > limit]
    if len(too_long):  # an id is never cut short (two ids could become one); PostgreSQL would refuse it
        raise UploadRejected(_("编号过长：最多 %(limit)s 个字符（第 %(row)s 行）。", limit=limit,
                               row=int(too_long["source_row"].iloc[0])))
    problems = []
    if len(rejected):
        write_frame(rejected, path.parent / "rejected.csv")
        try:
            LOADERS[kind](path)
        except InputError as exc:  # the raising mode gives each problem's row and column
            problems = [_problem(p, original) for p in exc.problems]
    new, changed = _diff(event.id, kind, valid)
    return ImportBatch(
        event_id=event.id, kind=kind, original_name=original[:255],
        stored_path=str(path.relative_to(current_app.instance_path)), status="validated",
        n_rows=len(valid) + len(rejected), n_valid=len(valid), n_rejected=len(rejected), n_new=new,
        n_updated=changed, problems=problems, digest=_digest(path),
    )


def confirm(batch):
    """Write the batch's valid rows in one transaction: new ids inserted, known ids updated.

    Raises
    ------
    UploadRejected
        The batch is not awaiting confirmation, or its file changed since validation.
    sqlalchemy.exc.SQLAlchemyError
        The database refused a row; the transaction is rolled back, nothing is written.
    """
    if batch.status != "validated":
        raise UploadRejected(_("该导入已处理过（状态：%(status)s）。", status=batch.status))
    path = Path(current_app.instance_path) / batch.stored_path
    if not path.is_file() or _digest(path) != batch.digest:
        raise UploadRejected(_("上传的文件已丢失或被修改，请重新上传。"))
    valid, _rejected = LOADERS[batch.kind](path, errors="collect")
    model, id_column, _tier = model_of(batch.kind)
    try:
        existing = {getattr(r, id_column): r for r in db.session.scalars(
            select(model).where(model.event_id == batch.event_id))}
        for _index, row in valid.iterrows():
            values = row_values(row, batch.kind)
            record = existing.get(values[id_column])
            if record is None:
                db.session.add(model(event_id=batch.event_id, **values))
            else:
                for name, value in values.items():
                    setattr(record, name, value)
        event = db.session.get(Event, batch.event_id)
        event.records_version += 1
        batch.status, batch.confirmed_at = "confirmed", dt.datetime.now(dt.UTC).replace(tzinfo=None)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        raise
    return batch


def discard(batch):
    """Forget a validated batch and delete its files."""
    if batch.status == "validated":
        batch.status = "discarded"
        db.session.commit()
        shutil.rmtree(Path(current_app.instance_path) / Path(batch.stored_path).parent, ignore_errors=True)


def rejected_path(batch):
    """Path of the batch's rejected-rows CSV, or None when it has none (or was discarded)."""
    path = Path(current_app.instance_path) / Path(batch.stored_path).parent / "rejected.csv"
    return path if path.is_file() else None


def template_bytes(kind, fmt):
    """A blank ``.csv`` or ``.xlsx`` with the Chinese headers the loaders expect."""
    with tempfile.TemporaryDirectory(prefix="matcher-template-") as folder:
        return write_frame(pd.DataFrame(columns=TEMPLATE_HEADERS[kind]), Path(folder) / f"template.{fmt}").read_bytes()


def describe_problem(problem):
    """The organiser-facing reason of one problem, in the current language."""
    field, value = problem.get("field"), problem.get("value") or ""
    if field in ("id", "title", "description") and not str(value).strip():
        return _("必填项为空")
    if field == "id":
        return _("编号重复：同一文件中已出现过")
    if field == "domain":
        return _("未知领域“%(value)s”，可选：%(allowed)s（留空则自动推断）", value=value, allowed="、".join(DOMAINS))
    if field == "trl":
        return _("技术成熟度须为 1–9 的整数，收到“%(value)s”", value=value)
    if field == "clearance":
        return _("未知保密资质“%(value)s”，可选：%(allowed)s", value=value, allowed="、".join(CLEARANCES))
    if field == "classification":
        return _("密级须为以下之一：%(allowed)s，收到“%(value)s”", value=value, allowed="、".join(CLASSIFICATIONS))
    return problem.get("message", "")


def _problem(found, original):
    """A matcher problem as stored with the batch: the one shape, naming the file the organiser uploaded."""
    return dict(found, file=original, row=int(found["row"]), column=str(found["column"]), field=str(found["field"]),
                value=str(found["value"]), message=str(found["message"]))


def _diff(event_id, kind, valid):
    model, id_column, _tier = model_of(kind)
    existing = {getattr(r, id_column): r for r in db.session.scalars(select(model).where(model.event_id == event_id))}
    new = changed = 0
    for _index, row in valid.iterrows():
        values = row_values(row, kind)
        record = existing.get(values[id_column])
        if record is None:
            new += 1
        elif any(getattr(record, k) != v for k, v in values.items() if k != "source_row"):
            changed += 1
    return new, changed


def _upload_folder(event_id):
    folder = Path(current_app.instance_path) / "uploads" / f"event-{event_id}" / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder


def _digest(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
