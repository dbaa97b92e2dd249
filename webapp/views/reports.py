"""Reports the bureau writes: per event and per period, charts with tables, XLSX, printable."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from matcher.export import write_workbook

from .. import audit
from ..errors import ValidationFailed
from ..services import reports as service
from ..ui import attachment, get_event

bp = Blueprint("reports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/events/<int:event_id>/report")
def event(event_id):
    event = get_event(event_id)
    return render_template("reports/event.html", sections=service.event_report(g.viewer, event),
                           today=dt.date.today())


@bp.get("/events/<int:event_id>/report.xlsx")
def event_xlsx(event_id):
    event = get_event(event_id)
    audit.record("export", f"event {event.id}", "report.xlsx")
    return _workbook(service.event_report(g.viewer, event), f"{event.name}-{_('统计报告')}.xlsx")


@bp.get("/reports")
def period():
    start, end = _period()
    events, sections = service.period_report(g.viewer, start, end)
    return render_template("reports/period.html", start=start, end=end, events=events, sections=sections,
                           today=dt.date.today())


@bp.get("/reports.xlsx")
def period_xlsx():
    start, end = _period()
    _events, sections = service.period_report(g.viewer, start, end)
    audit.record("export", "period report", f"{start}–{end}")
    return _workbook(sections, f"{_('工作简报')}-{start}-{end}.xlsx")


def _period():
    """``start`` and ``end`` from the query string (YYYY-MM-DD); by default this year and the last."""
    today = dt.date.today()
    try:
        start = dt.date.fromisoformat(request.args.get("start") or f"{today.year - 1}-01-01")
        end = dt.date.fromisoformat(request.args.get("end") or f"{today.year}-12-31")
    except ValueError:
        raise ValidationFailed(_("起止日期须写成 YYYY-MM-DD。")) from None
    if end < start:
        raise ValidationFailed(_("结束日期须不早于开始日期。"))
    return start, end


def _workbook(sections, filename):
    with tempfile.TemporaryDirectory(prefix="matcher-report-") as folder:
        path = write_workbook(service.workbook_sheets(sections), Path(folder) / "report.xlsx", decimals=2)
        return attachment(path.read_bytes(), filename, XLSX, "report.xlsx")
