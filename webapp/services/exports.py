"""Downloadable files: pairings, suggestions, schedule grid, meetings, agendas, unscheduled list, records.

Tables are written with ``matcher.export.write_frame`` (atomic, formula-safe; workbooks with a
frozen header row, fitted column widths and scores rounded to 3 decimals) and agendas with
``matcher.write_agenda``; headers, sheet names and values follow the page language.
"""
from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matcher.export import write_frame

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Suggestion
from ..reasons import localise as planner_reason
from ..reasons import localise_suggestion
from ..ui import VOCABULARY
from . import planning
from .frames import records_frame
from .import_templates import COLUMNS, record_headers
from .pairs import accepted_pairs

#: Export key → file label (the Chinese is the file name in the default language).
EXPORTS = {
    "pairings": _l("对接配对"),
    "suggestions": _l("推荐清单"),
    "schedule": _l("会面日程表"),
    "meetings": _l("会面清单"),
    "agendas": _l("个人日程"),
    "unscheduled": _l("未安排清单"),
    "needs": _l("企业需求"),
    "capabilities": _l("院所成果"),
}
#: Exports that exist only once a schedule has been planned.
NEEDS_SCHEDULE = ("schedule", "meetings", "agendas", "unscheduled")
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8", "zip": "application/zip"}
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def build(viewer, event, what, fmt):
    """Build one export in memory.

    Only what ``viewer`` may see is exported.

    Returns
    -------
    (bytes, str, str)
        Content, file name (``<event name>-<label>.<ext>``) and MIME type.

    Raises
    ------
    ValidationFailed
        Unknown export or format, or nothing to export yet (no schedule).
    """
    if what not in EXPORTS or fmt not in ("xlsx", "csv"):
        raise ValidationFailed(_("未知的导出类型。"))
    if what in NEEDS_SCHEDULE and planning.latest_run(event.id) is None:
        raise ValidationFailed(_("还没有日程：请先生成会面日程。"))
    name = f"{_UNSAFE.sub('_', event.name).strip() or 'event'}-{EXPORTS[what]}"
    with tempfile.TemporaryDirectory(prefix="matcher-export-") as folder:
        if what == "agendas":
            path = _agendas(viewer, event, Path(folder), fmt)
        else:
            path = write_frame(_FRAMES[what](viewer, event), Path(folder) / f"export.{fmt}", sheet_name=str(EXPORTS[what])[:31])
        suffix = path.suffix.lstrip(".")
        return path.read_bytes(), f"{name}.{suffix}", FORMATS[suffix]


def _pairings(viewer, event):
    rows = []
    for item in accepted_pairs(viewer, event.id):
        need, capability, decision = item["need"], item["capability"], item["decision"]
        rows.append({
            _("需求编号"): decision.need_id, _("需求单位"): need.org if need else "",
            _("需求名称"): need.title if need else "", _("成果编号"): decision.capability_id,
            _("成果单位"): capability.org if capability else "", _("成果名称"): capability.title if capability else "",
            _("得分"): item["score"],
            _("锁定"): _("是") if decision.locked else "", _("来源"): _source(decision.source),
            _("推荐理由"): localise_suggestion(item["reason"])})
    return _frame(rows, [_("需求编号"), _("需求单位"), _("需求名称"), _("成果编号"), _("成果单位"), _("成果名称"),
                         _("得分"), _("锁定"), _("来源"), _("推荐理由")])


def _suggestions(viewer, event):
    rows = visibility.filter_pairs(viewer, event.id, db.session.scalars(
        select(Suggestion).where(Suggestion.event_id == event.id, Suggestion.direction == "need")
        .order_by(Suggestion.need_id, Suggestion.rank)).all())
    columns = {"need_id": _("需求编号"), "need_org": _("需求单位"), "need_title": _("需求名称"), "rank": _("名次"),
               "capability_id": _("成果编号"), "capability_org": _("成果单位"), "capability_title": _("成果名称"),
               "score": _("得分"), "strength": _("匹配强度"), "strength_band": _("强度等级"),
               "shared_terms": _("共同术语"), "reason": _("推荐理由")}
    # 得分 orders a need's list; 匹配强度 is the calibrated strength, comparable across needs.
    return _frame([{label: _cell(r, key) for key, label in columns.items()} for r in rows], list(columns.values()))


def _cell(row, key):
    value = getattr(row, key)
    if key == "reason":
        return localise_suggestion(value)
    return str(VOCABULARY.get(value, value)) if key == "strength_band" else value


def _schedule_grid(viewer, event):
    labels = planning.slot_labels(event)
    cells = planning.grid(event, planning.meetings(viewer, event.id))
    tables = [_("%(n)s 号桌", n=t) for t in range(1, event.tables + 1)]
    rows = []
    for slot in range(1, event.slots + 1):
        row = {_("时段"): slot, _("时间"): labels[slot]}
        for table, label in zip(range(1, event.tables + 1), tables):
            meeting = cells[slot].get(table)
            row[label] = (f"{meeting.need_org} ↔ {meeting.capability_org}（{meeting.need_id}/{meeting.capability_id}）"
                          if meeting else "")
        rows.append(row)
    return _frame(rows, [_("时段"), _("时间")] + tables)


def _meetings(viewer, event):
    labels = planning.slot_labels(event)
    # 签到: one box per side, ticked on the day as each organisation arrives at its table.
    check_in = _("□ 企业　□ 院所")
    rows = [{_("时段"): m.slot, _("时间"): labels.get(m.slot, ""), _("桌号"): m.table_no, _("需求编号"): m.need_id,
             _("需求单位"): m.need_org, _("成果编号"): m.capability_id, _("成果单位"): m.capability_org,
             _("得分"): m.score, _("锁定"): _("是") if m.locked else "", _("签到"): check_in}
            for m in planning.meetings(viewer, event.id)]
    return _frame(rows, [_("时段"), _("时间"), _("桌号"), _("需求编号"), _("需求单位"), _("成果编号"), _("成果单位"),
                         _("得分"), _("锁定"), _("签到")])


def _unscheduled(viewer, event):
    rows = [{_("类型"): _("配对") if u.kind == "pair" else _("参会单位"), _("需求编号"): u.need_id,
             _("需求单位"): u.need_org, _("成果编号"): u.capability_id, _("成果单位"): u.capability_org,
             _("单位"): u.org, _("原因"): planner_reason(u.reason)} for u in planning.unscheduled(viewer, event.id)]
    return _frame(rows, [_("类型"), _("需求编号"), _("需求单位"), _("成果编号"), _("成果单位"), _("单位"), _("原因")])


def _records(kind):
    def frame(viewer, event):
        out = records_frame(viewer, event.id, kind)[list(COLUMNS[kind])].copy()
        out["trl"] = out["trl"].astype(object).where(out["trl"].notna(), "")
        return out.rename(columns=record_headers(kind))  # headers the loaders accept: the file imports again
    return frame


def _agendas(viewer, event, folder, fmt):
    from matcher.planning.agenda import write_agenda

    from .roadshow import roadshow_frame

    schedule = planning.schedule_object(viewer, event.id)
    schedule.unscheduled["reason"] = schedule.unscheduled["reason"].map(planner_reason)
    roadshow = roadshow_frame(viewer, event)
    paths = write_agenda(schedule, folder / f"agenda.{fmt}", roadshow=roadshow, labels=_agenda_labels())
    paths = [Path(p) for p in paths]
    if len(paths) == 1:
        return paths[0]
    bundle = folder / "agendas.zip"
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, arcname=path.name)
    return bundle


def _agenda_labels():
    """Sheet names, headers and values of the agendas workbook in the page language (see ``write_agenda``)."""
    return {
        "sheet.grid": _("会面总表"), "sheet.meetings": _("会面清单"), "sheet.unscheduled": _("未安排"),
        "sheet.roadshow": _("路演安排"), "table {n}": _("{n} 号桌"), "role.need": _("企业"), "role.capability": _("院所"),
        "kind.pair": _("配对"), "kind.participant": _("参会单位"),
        "slot": _("时段"), "table": _("桌号"), "role": _("角色"), "partner": _("对方单位"), "org": _("单位"),
        "need_id": _("需求编号"), "capability_id": _("成果编号"), "need_org": _("需求单位"),
        "capability_org": _("成果单位"), "score": _("得分"), "locked": _("锁定"), "kind": _("类型"),
        "reason": _("原因"), "session": _("场次（密级）"), "track": _("分会场"), "order": _("顺序"), "capability_ids": _("路演成果"),
        "invited_orgs": _("受邀企业"), "invited_count": _("受邀企业数"), "expected_interest": _("预期关注度"),
        "topics": _("一并洽谈的配对"),
    }


def _frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def _source(source):
    return {"organiser": _("组织方"), "bulk": _("批量接受"), "request": _("会面申请"), "api": "API"}.get(source, source)


_FRAMES = {"pairings": _pairings, "suggestions": _suggestions, "schedule": _schedule_grid, "meetings": _meetings,
           "unscheduled": _unscheduled, "needs": _records("need"), "capabilities": _records("capability")}
