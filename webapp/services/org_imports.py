"""Import the bureau's organisation spreadsheets: validate every row, then merge all of them or none.

One row per organisation: name, type, 统一社会信用代码, profile fields and, per tier, its number,
start and expiry. Each bad cell becomes a problem naming the uploaded file, the spreadsheet row, the
column as written and the rule; one problem anywhere stores nothing. A valid file is merged in one
transaction: a row whose credit code is known updates that organisation (its stored name is kept,
since events refer to it), else a row whose name is known completes that organisation, else a new
organisation is created. Tiers named in a row are set; tiers it leaves empty are left as they were.
Every changed field enters the history with the file and row it came from. A row whose name starts with
示例 (or ``example``) is the template's example row: it is neither checked nor stored, and the result
names its row.
"""
from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from matcher import InputError
from matcher.errors import problem
from matcher.sources import header_key, read_table

from ..db import db
from ..errors import ValidationFailed
from ..models import Organisation, OrgProfile, OrgTier
from . import organisations as profiles

#: Field → header names accepted (the first is what the template writes).
COLUMNS = {
    "name": ("单位名称", "企业名称", "机构名称", "name"),
    "kind": ("单位类型", "类型", "kind"),
    "credit_code": ("统一社会信用代码", "信用代码", "社会信用代码", "credit_code"),
    "industry_code": ("行业代码", "国民经济行业代码", "行业分类代码", "industry_code"),
    "town": ("所在镇街", "镇街", "所在街道", "town"),
    "rd_staff": ("研发人员数", "研发人员", "rd_staff"),
    "revenue_band": ("营业收入区间", "营收区间", "revenue_band"),
    "main_products": ("主要产品", "main_products"),
    "institute_type": ("院所类型", "institute_type"),
    "disciplines": ("学科方向", "学科", "disciplines"),
    "teams": ("科研团队", "团队", "teams"),
}
TIER_PARTS = {"number": ("编号", "证书编号", "入库编号"), "valid_from": ("起始日期", "发证日期", "认定日期"),
              "valid_until": ("有效期至", "到期日期")}
KIND_VALUES = {"企业": "enterprise", "enterprise": "enterprise", "院所": "institute", "高校院所": "institute",
               "institute": "institute", "": "enterprise"}


def _key(name):
    return header_key(name).replace("“", "").replace("”", "").replace('"', "")


def _aliases():
    aliases = {_key(a): field for field, names in COLUMNS.items() for a in names}
    for tier in profiles.TIERS:
        for part, suffixes in TIER_PARTS.items():
            aliases.update({_key(tier + suffix): f"{tier}|{part}" for suffix in suffixes})
    return aliases


def import_organisations(viewer, upload):
    """Save, validate and (when every row is valid) merge an uploaded organisation spreadsheet.

    Returns
    -------
    dict
        ``file, rows, new, updated, unchanged`` (counts of organisations) and ``examples`` (spreadsheet
        rows of template example rows, not imported).

    Raises
    ------
    ValidationFailed
        Not an organiser, wrong file type, unreadable file, no name column, or any bad row: every
        problem names file, row, column and rule, and nothing is stored.
    """
    if not profiles.may_edit_all(viewer):
        raise ValidationFailed(_("只有组织方可以导入单位档案。"))
    original = Path(upload.filename or "").name
    suffix = Path(original).suffix.lower()
    if suffix not in current_app.config["UPLOAD_EXTENSIONS"]:
        raise ValidationFailed(_("不支持的文件类型“%(suffix)s”：请上传 .csv 或 .xlsx 文件。", suffix=suffix or "—"))
    folder = Path(current_app.instance_path) / "uploads" / "organisations" / secrets.token_hex(8)
    folder.mkdir(parents=True)
    path = folder / f"organisations{suffix}"
    try:
        upload.save(path)  # kept on disk only while it is read; the history names the original file
        rows = _read(path, original)
        return _merge(viewer, rows, original)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read(path, original):
    aliases = _aliases()
    try:
        table = read_table(path, aliases=aliases)
    except InputError as exc:
        raise ValidationFailed(_("无法读取该文件：请检查编码（UTF-8 或 GBK）、文件格式和表头。"),
                               [{"file": original, "message": str(exc).replace(path.name, original)}]) from None
    columns = {}
    for header in table.frame.columns:
        field = aliases.get(_key(header))
        if field is not None and field not in columns:
            columns[field] = header
    if "name" not in columns:
        raise ValidationFailed(_("%(file)s：缺少“单位名称”列。", file=original),
                               [{"file": original, "field": "header", "message": _("缺少“单位名称”列。")}])
    if table.frame.empty:
        raise ValidationFailed(_("文件中没有数据行。"))
    return [(row_number, {field: str(record[header]).strip() for field, header in columns.items()}, columns)
            for row_number, (_index, record) in zip(table.rows, table.frame.iterrows())]


def _check_row(row_number, values, columns, original, seen):
    """Clean values of one row and its problems, each naming file, row and column."""
    problems = []

    def add(field, value, message):
        column = columns.get(field) or next((h for f, h in columns.items() if f.startswith(field)), None)
        problems.append(problem(message, file=original, row=row_number, column=column, field=field, value=value))

    name = values.get("name", "")[:200]
    kind = KIND_VALUES.get(values.get("kind", "").lower())
    if not name:
        add("name", "", _("请填写单位名称。"))
    if kind is None:
        add("kind", values.get("kind"), _("单位类型须为企业或院所。"))
        kind = "enterprise"
    clean, found = profiles.check_profile({f: v for f, v in values.items() if f in profiles.PROFILE_FIELDS}, kind)
    for p in found:
        add(p["field"], p["value"], p["message"])
    if kind == "enterprise" and "credit_code" not in values:
        add("credit_code", "", _("企业须填写统一社会信用代码。"))
    code = clean.get("credit_code")
    for key, label in ((code, "credit_code"), (name, "name")):
        if key and key in seen[label]:
            add(label, key, _("与第 %(row)s 行重复。", row=seen[label][key]))
        elif key:
            seen[label][key] = row_number
    tiers = []
    for tier in profiles.TIERS:
        parts = {part: values.get(f"{tier}|{part}", "") for part in TIER_PARTS}
        if not any(parts.values()):
            continue
        if kind != "enterprise":
            add(f"{tier}|number", parts["number"], _("梯队只用于企业。"))
            continue
        tier_clean, found = profiles.check_tier(tier, parts["number"], parts["valid_from"], parts["valid_until"])
        for p in found:
            add(f"{tier}|{p['field']}", p["value"], p["message"])
        tiers.append(tier_clean)
    return {"name": name, "kind": kind, "profile": clean, "tiers": tiers}, problems


def is_example(name):
    """Whether a row's name marks it as an import template's example row (示例…, example…)."""
    name = str(name or "").strip()
    return name.startswith("示例") or name.lower().startswith("example")


def _merge(viewer, rows, original):
    seen, checked, problems = {"credit_code": {}, "name": {}}, [], []
    cleaned, examples = [], [row_number for row_number, values, _columns in rows if is_example(values.get("name"))]
    rows = [row for row in rows if row[0] not in examples]
    if not rows:
        raise ValidationFailed(_("%(file)s：只有填写示例行，没有要导入的单位。", file=original))
    for row_number, values, columns in rows:
        clean, found = _check_row(row_number, values, columns, original, seen)
        problems += found
        if not found:
            cleaned.append((row_number, clean, columns))
    known = _known(clean for _row, clean, _columns in cleaned)
    for row_number, clean, columns in cleaned:
        target, conflict = _target(clean, known)
        if conflict:
            problems.append(problem(conflict, file=original, row=row_number, column=columns.get("name"),
                                    field="name", value=clean["name"]))
        checked.append((row_number, clean, target))
    if problems:
        raise ValidationFailed(_("%(file)s：%(n)s 处错误，未导入任何数据。请修正后重新上传。", file=original,
                                 n=len(problems)), problems)
    counts = {"file": original, "rows": len(checked), "new": 0, "updated": 0, "unchanged": 0, "examples": examples}
    # One flush for the new organisations' ids and stored rows read in bulk: without autoflush, a
    # 2,000-row file is a few statements per row instead of a flush (and its change hook) per query.
    with db.session.no_autoflush:
        created = []
        for index, (row_number, clean, organisation) in enumerate(checked):
            if organisation is None:
                organisation = Organisation(name=clean["name"], kind=clean["kind"])
                db.session.add(organisation)
                checked[index] = (row_number, clean, organisation)
                created.append(organisation)
        db.session.flush()
        ids = [o.id for _r, _c, o in checked]
        stored = {p.org_id: p for p in db.session.scalars(select(OrgProfile).where(OrgProfile.org_id.in_(ids)))}
        tiers = {(t.org_id, t.tier): t for t in db.session.scalars(select(OrgTier).where(OrgTier.org_id.in_(ids)))}
        new = {o.id for o in created}
        for row_number, clean, organisation in checked:
            source = _("导入：%(file)s 第 %(row)s 行", file=original, row=row_number)
            if organisation.id in new:
                profiles._log(organisation, "name", "", organisation.name, viewer.username, source)
            changed = profiles.apply_profile(organisation, clean["profile"], username=viewer.username, source=source,
                                             profile=stored.get(organisation.id))
            changed += sum(profiles.apply_tier(organisation, t, username=viewer.username, source=source,
                                               row=tiers.get((organisation.id, t["tier"]))) for t in clean["tiers"])
            counts["new" if organisation.id in new else "updated" if changed else "unchanged"] += 1
    db.session.commit()
    return counts


def _known(cleaned):
    """Stored organisations the rows may merge into: ``(by credit code, by name, credit code by org id)``."""
    cleaned = list(cleaned)
    codes = {c["profile"].get("credit_code") for c in cleaned} - {None}
    names = {c["name"] for c in cleaned}
    by_code = dict(db.session.execute(select(OrgProfile.credit_code, Organisation)
                                      .join(Organisation, Organisation.id == OrgProfile.org_id)
                                      .where(OrgProfile.credit_code.in_(codes))).all()) if codes else {}
    by_name = {o.name: o for o in db.session.scalars(select(Organisation).where(Organisation.name.in_(names)))}
    code_of = dict(db.session.execute(select(OrgProfile.org_id, OrgProfile.credit_code).where(
        OrgProfile.org_id.in_([o.id for o in by_name.values()]))).all()) if by_name else {}
    return by_code, by_name, code_of


def _target(clean, known):
    """The organisation a valid row merges into (None: a new one) and a conflict message, if any."""
    by_code, by_name, code_of = known
    code = clean["profile"].get("credit_code")
    owner = by_code.get(code) if code else None
    if owner is not None:
        if owner.kind != clean["kind"]:
            return None, _("信用代码 %(code)s 已登记为“%(name)s”，单位类型不同。", code=code, name=owner.name)
        return owner, ""
    named = by_name.get(clean["name"])
    if named is None:
        return None, ""
    stored = code_of.get(named.id)
    if stored and code and stored != code:
        return None, _("单位“%(name)s”已登记信用代码 %(code)s，与本行不同。", name=named.name, code=stored)
    return named, ""
