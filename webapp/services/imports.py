"""Spreadsheet imports: save the upload, validate it with matcher, then upsert on confirmation.

Nothing reaches the record tables until the organiser confirms, and a
confirmation writes every valid row in one transaction (insert new ids,
update known ones) or nothing at all; a file identical to what is stored
changes nothing. matcher reports problems in English with structured fields;
what the organiser reads is rendered here from those fields, in the UI
language, naming the file they uploaded (the stored copy has a fixed name).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
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
from matcher.records import is_example_id

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Event, ImportBatch
from .frames import column_limit, model_of, row_values
from .import_templates import COLUMNS, record_headers

LOADERS = {"need": load_needs, "capability": load_capabilities}
#: Valid rows shown on the validation report before confirmation.
PREVIEW_ROWS = 20


class UploadRejected(ValidationFailed):
    """The file cannot be imported at all; ``description`` is for the organiser (UI language).

    ``detail`` is matcher's own message when there is nothing better to show; ``problems`` are
    matcher's structured problems (header problems), naming the uploaded file.
    """

    def __init__(self, message, detail="", problems=()):
        super().__init__(message, list(problems) or ([{"message": detail}] if detail else []))
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
        header = [dict(p, file=original) for p in exc.problems if p.get("field") == "header"]
        if header:
            raise UploadRejected(describe_header_problems(header, kind), problems=header) from None
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
    statuses = _statuses(event.id, kind, valid)
    new, changed = list(statuses.values()).count("new"), list(statuses.values()).count("changed")
    _write_preview(valid, kind, statuses, path.parent / "preview.json")
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
        existing = _existing(batch.event_id, batch.kind)
        new = changed = 0
        for _index, row in valid.iterrows():
            values = row_values(row, batch.kind)
            record = existing.get(values[id_column])
            if record is None:
                db.session.add(model(event_id=batch.event_id, **values))
                new += 1
                continue
            changed += _differs(record, values)
            for name, value in values.items():
                setattr(record, name, value)
        if new or changed:  # an unchanged file leaves the ranking current
            db.session.get(Event, batch.event_id).records_version += 1
        batch.n_new, batch.n_updated = new, changed
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
        shutil.rmtree(_folder(batch), ignore_errors=True)


def rejected_path(batch):
    """Path of the batch's rejected-rows CSV, or None when it has none (or was discarded)."""
    path = _folder(batch) / "rejected.csv"
    return path if path.is_file() else None


def rejected_bytes(batch):
    """The rejected rows as CSV, each with its spreadsheet row and its reasons in the UI language; None if none.

    The columns of the uploaded file come first, unchanged, so the rows can be fixed and uploaded again.
    """
    path = rejected_path(batch)
    if path is None:
        return None
    rows = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    reasons = {}
    for found in batch.problems:
        reasons.setdefault(int(found["row"]), []).append(locate_problem(found))
    rows["reason"] = [_("；").join(reasons.get(int(row), [])) for row in rows["source_row"]]
    rows = rows.rename(columns={"source_row": _("行号"), "reason": _("原因")})
    with tempfile.TemporaryDirectory(prefix="matcher-rejected-") as folder:
        return write_frame(rows, Path(folder) / "rejected.csv").read_bytes()


def preview(viewer, batch):
    """The first valid rows of a validated batch as parsed, for its report (organisers only).

    Returns
    -------
    list of dict
        Up to :data:`PREVIEW_ROWS` rows: ``id, org, title, domain, domain_inferred, tier, trl, status``
        (status "new", "changed" or "same" against the stored records when the file was validated).
    """
    path = _folder(batch) / "preview.json"
    if not visibility.is_organiser(viewer, batch.event_id) or not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def describe_problem(problem):
    """The organiser-facing reason of one row problem, in the current language."""
    field, value = problem.get("field"), problem.get("value") or ""
    if field in ("id", "title", "description") and not str(value).strip():
        return _("必填项为空")
    if field == "id" and is_example_id(value):
        return _("模板中的填写示例（编号以“示例”开头），不会导入")
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


def locate_problem(problem):
    """One row problem as a sentence naming the uploaded file, the row and the column, in the current language."""
    return _("%(file)s 第 %(row)s 行，“%(column)s”列：%(reason)s", file=problem.get("file") or "",
             row=problem.get("row"), column=problem.get("column") or "", reason=describe_problem(problem))


def describe_header_problems(problems, kind):
    """Header problems (matcher's field "header") as one text in the current language, naming the uploaded file.

    A missing column (``column`` None) is named with its header in the UI language and the other
    names the loaders accept; two columns meaning one field are both named.
    """
    separator, sentences, found = _("、"), [], None
    for problem in problems:
        accepted = list(problem.get("allowed") or [])
        label = record_headers(kind).get(accepted[0], accepted[0]) if accepted else ""
        if problem.get("column") is None:  # a required column is missing
            others = [name for name in accepted if name.casefold() != label.casefold()]
            sentences.append(_("文件“%(file)s”缺少必填列“%(column)s”（也可写作：%(aliases)s）。",
                               file=problem.get("file") or "", column=label, aliases=separator.join(others)))
            found = problem.get("value") or []
        else:
            sentences.append(_("文件“%(file)s”中的“%(first)s”和“%(second)s”两列都表示“%(column)s”，请只保留一列。",
                               file=problem.get("file") or "", first=problem.get("value") or "",
                               second=problem["column"], column=label))
    if found is not None:
        sentences.append(_("文件中的列：%(found)s。", found=separator.join(found) or _("（无）")))
    return " ".join(sentences)


def _problem(found, original):
    """A matcher problem as stored with the batch: the one shape, naming the file the organiser uploaded."""
    return dict(found, file=original, row=int(found["row"]), column=str(found["column"]), field=str(found["field"]),
                value=str(found["value"]), message=str(found["message"]))


def _existing(event_id, kind):
    model, id_column, _tier = model_of(kind)
    return {getattr(r, id_column): r for r in db.session.scalars(select(model).where(model.event_id == event_id))}


def _differs(record, values):
    """Whether storing ``values`` changes ``record`` (its spreadsheet row number alone is no change)."""
    return any(getattr(record, k) != v for k, v in values.items() if k != "source_row")


def _statuses(event_id, kind, valid):
    """``{id: "new" | "changed" | "same"}`` of the valid rows against the stored records."""
    _model, id_column, _tier = model_of(kind)
    existing, out = _existing(event_id, kind), {}
    for _index, row in valid.iterrows():
        values = row_values(row, kind)
        record = existing.get(values[id_column])
        out[values[id_column]] = "new" if record is None else "changed" if _differs(record, values) else "same"
    return out


def _write_preview(valid, kind, statuses, path):
    tier = COLUMNS[kind][-1]
    rows = [{"id": str(r["id"]), "org": r["org"], "title": r["title"], "domain": r["domain"],
             "domain_inferred": bool(r["domain_inferred"]), "tier": r[tier],
             "trl": None if pd.isna(r["trl"]) else int(r["trl"]), "status": statuses[str(r["id"])]}
            for r in valid.head(PREVIEW_ROWS).to_dict("records")]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def _folder(batch):
    return Path(current_app.instance_path) / Path(batch.stored_path).parent


def _upload_folder(event_id):
    folder = Path(current_app.instance_path) / "uploads" / f"event-{event_id}" / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder


def _digest(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
