"""The bureau's reports: per event and per period, as tables (pages, XLSX) and ECharts options (charts).

Every figure counts only what the viewer may see (:mod:`webapp.visibility`): records by the tier
rule, pairs when both records are visible, amounts only of deals whose amount the viewer may see
(:func:`webapp.services.deals.amount_visible`). Reports name no record titles at all, so a classified
capability's title cannot appear in one; organisations appear only as counts.

A report is a list of sections; each has a key, a title, a table (``pandas.DataFrame`` with headers in
the UI language) and the ECharts option that draws the same numbers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from matcher import DOMAINS

from .. import visibility
from ..db import db
from ..models import Capability, Decision, Event, Need, Organisation, OrgProfile, OrgTier, Suggestion
from . import deals, organisations
from .outcomes import CONTRACT_TYPES, meetings_held, signed_outcomes

FUNNEL = ("suggested", "accepted", "met", "signed", "registered")
NO_TIER, NO_TYPE = "未入库", "未分类"


@dataclass
class Figures:
    """Raw figures of one event or a period (sums of events; organisations as sets, so none counts twice)."""

    signed_by_domain: dict = field(default_factory=dict)
    deals_by_type: dict = field(default_factory=dict)
    amount_by_type: dict = field(default_factory=dict)
    amount_by_domain: dict = field(default_factory=dict)
    funnel: dict = field(default_factory=lambda: dict.fromkeys(FUNNEL, 0))
    enterprise_tiers: dict = field(default_factory=dict)  # org name → set of tiers in force
    institute_types: dict = field(default_factory=dict)   # org name → institute type

    def add(self, other):
        for mine, theirs in ((self.signed_by_domain, other.signed_by_domain), (self.deals_by_type, other.deals_by_type),
                             (self.amount_by_type, other.amount_by_type),
                             (self.amount_by_domain, other.amount_by_domain), (self.funnel, other.funnel)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        for name, tiers in other.enterprise_tiers.items():
            self.enterprise_tiers.setdefault(name, set()).update(tiers)
        self.institute_types.update(other.institute_types)
        return self


def event_figures(viewer, event):
    """The figures of one event as the viewer may see them.

    Returns
    -------
    Figures
    """
    figures = Figures()
    for outcome in signed_outcomes(viewer, event.id):
        figures.signed_by_domain[outcome.domain] = figures.signed_by_domain.get(outcome.domain, 0) + outcome.count
        figures.funnel["signed"] += outcome.count
        figures.funnel["registered"] += outcome.count if outcome.stage == "登记" else 0
        if outcome.amount is not None and deals.amount_visible(viewer, event.id, outcome):
            kind = outcome.contract_type or NO_TYPE
            figures.deals_by_type[kind] = figures.deals_by_type.get(kind, 0) + 1
            figures.amount_by_type[kind] = figures.amount_by_type.get(kind, 0.0) + outcome.amount
            figures.amount_by_domain[outcome.domain] = figures.amount_by_domain.get(outcome.domain, 0.0) + outcome.amount
    suggested = db.session.execute(select(Suggestion.need_id, Suggestion.capability_id).distinct()
                                   .where(Suggestion.event_id == event.id)).all()
    accepted = db.session.execute(select(Decision.need_id, Decision.capability_id).where(
        Decision.event_id == event.id, Decision.status == "accepted")).all()
    figures.funnel["suggested"] = len(visibility.filter_pairs(viewer, event.id, suggested))
    figures.funnel["accepted"] = len(visibility.filter_pairs(viewer, event.id, accepted))
    figures.funnel["met"] = len({(r["need_id"], r["capability_id"]) for r in meetings_held(viewer, event.id)})
    enterprises = set(db.session.scalars(select(Need.org).distinct().where(
        visibility.need_clause(viewer, event.id), Need.org != "")))
    institutes = set(db.session.scalars(select(Capability.org).distinct().where(
        visibility.capability_clause(viewer, event.id), Capability.org != "")))
    figures.enterprise_tiers = _tiers_of(enterprises, event.date or dt.date.today())
    figures.institute_types = _types_of(institutes)
    return figures


def period_events(viewer, start, end):
    """Events the viewer may open dated within ``[start, end]``, oldest first."""
    return db.session.scalars(select(Event).where(visibility.event_clause(viewer, Event.id), Event.date >= start,
                                                  Event.date <= end).order_by(Event.date, Event.id)).all()


def event_report(viewer, event):
    """Sections of one event's report (see the module docstring)."""
    return sections(event_figures(viewer, event))


def period_report(viewer, start, end):
    """The period's events with their figures, the summed sections and the trend section.

    Returns
    -------
    (list of Event, list of dict)
    """
    events = period_events(viewer, start, end)
    total, per_event = Figures(), []
    for event in events:
        figures = event_figures(viewer, event)
        per_event.append((event, figures))
        total.add(figures)
    return events, [_trend_section(per_event), *sections(total)]


def sections(figures):
    """Tables and charts of a :class:`Figures`, in the report's order."""
    domain, projects, amount = _("领域"), _("签约项目"), _("成交额（万元）")
    signed = pd.DataFrame({domain: list(DOMAINS), projects: [figures.signed_by_domain.get(d, 0) for d in DOMAINS]})
    kinds = [*CONTRACT_TYPES, *([NO_TYPE] if NO_TYPE in figures.amount_by_type else [])]
    by_type = pd.DataFrame({_("合同类型"): kinds, _("合同数"): [figures.deals_by_type.get(k, 0) for k in kinds],
                            amount: [round(figures.amount_by_type.get(k, 0.0), 2) for k in kinds]})
    by_domain = pd.DataFrame({domain: list(DOMAINS),
                              amount: [round(figures.amount_by_domain.get(d, 0.0), 2) for d in DOMAINS]})
    stages = {"suggested": _("推荐"), "accepted": _("接受"), "met": _("会面"), "signed": _("签约"),
              "registered": _("登记")}
    funnel = pd.DataFrame({_("阶段"): [stages[k] for k in FUNNEL], _("数量"): [figures.funnel[k] for k in FUNNEL]})
    tiers = [*organisations.TIERS, NO_TIER]
    tier_counts = {t: sum(1 for held in figures.enterprise_tiers.values() if (t in held if t != NO_TIER else not held))
                   for t in tiers}
    by_tier = pd.DataFrame({_("梯队"): tiers, _("企业数"): [tier_counts[t] for t in tiers]})
    types = [*organisations.INSTITUTE_TYPES, NO_TYPE]
    type_counts = {t: sum(1 for v in figures.institute_types.values() if (v or NO_TYPE) == t) for t in types}
    by_type_inst = pd.DataFrame({_("院所类型"): types, _("院所数"): [type_counts[t] for t in types]})
    return [
        _section("signed", _("各领域签约项目"), signed, "bar"),
        _section("amount_type", _("按合同类型的成交额"), by_type, "bar", value_column=2),
        _section("amount_domain", _("按领域的成交额"), by_domain, "bar"),
        _section("funnel", _("对接漏斗：推荐 → 接受 → 会面 → 签约 → 登记"), funnel, "funnel"),
        _section("tiers", _("参会企业梯队"), by_tier, "bar"),
        _section("institutes", _("参会院所类型"), by_type_inst, "pie"),
    ]


def workbook_sheets(report_sections):
    """``{sheet name: frame}`` for :func:`matcher.export.write_workbook` (names cut to Excel's 31 characters)."""
    sheets = {}
    for section in report_sections:
        name = section["title"].replace("：", " ").replace("→", "-")
        for mark in "[]:*?/\\":
            name = name.replace(mark, " ")
        sheets[name[:31]] = section["table"]
    return sheets


def _trend_section(per_event):
    table = pd.DataFrame({
        _("对接会"): [e.name for e, _f in per_event],
        _("日期"): [e.date.isoformat() if e.date else "" for e, _f in per_event],
        _("签约项目"): [f.funnel["signed"] for _e, f in per_event],
        _("登记项目"): [f.funnel["registered"] for _e, f in per_event],
        _("成交额（万元）"): [round(sum(f.amount_by_type.values()), 2) for _e, f in per_event],
    })
    labels = [f"{name} {date}".strip() for name, date in zip(table.iloc[:, 0], table.iloc[:, 1])]
    option = {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 8, "right": 8, "top": 48, "bottom": 8, "outerBoundsMode": "same"},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 30 if len(labels) > 3 else 0}},
        "yAxis": [{"type": "value", "name": _("项目"), "minInterval": 1}, {"type": "value", "name": _("万元")}],
        "series": [
            {"type": "bar", "name": table.columns[2], "data": table.iloc[:, 2].tolist()},
            {"type": "bar", "name": table.columns[3], "data": table.iloc[:, 3].tolist()},
            {"type": "line", "name": table.columns[4], "yAxisIndex": 1, "data": table.iloc[:, 4].tolist()},
        ],
    }
    return {"key": "trend", "title": _("历届趋势"), "table": table, "option": option}


def _section(key, title, table, kind, value_column=1):
    from ..ui import VOCABULARY

    labels = [str(VOCABULARY.get(v, v)) for v in table.iloc[:, 0]]
    values = table.iloc[:, value_column].tolist()
    name = str(table.columns[value_column])
    if kind == "pie":
        series = [{"type": "pie", "name": name, "radius": ["35%", "65%"],
                   "data": [{"name": n, "value": v} for n, v in zip(labels, values) if v]}]
        option = {"tooltip": {"trigger": "item"}, "legend": {"bottom": 0, "type": "scroll"}, "series": series}
    elif kind == "funnel":
        # Each layer at least 30% wide so that a stage of 0 or 1 beside hundreds of suggestions stays legible.
        series = [{"type": "funnel", "name": name, "sort": "none", "left": "10%", "width": "80%", "min": 0,
                   "max": max(values + [1]), "minSize": "30%", "gap": 2,
                   "label": {"show": True, "position": "inside", "formatter": "{b}：{c}"},
                   "data": [{"name": n, "value": v} for n, v in zip(labels, values)]}]
        option = {"tooltip": {"trigger": "item"}, "series": series}
    else:
        option = {"tooltip": {"trigger": "axis"},
                  # outerBoundsMode "same" (ECharts 6) keeps long category labels inside the chart; the right
                  # margin leaves room for the value written after each bar.
                  "grid": {"left": 24, "right": 64, "top": 16, "bottom": 8, "outerBoundsMode": "same"},
                  "xAxis": {"type": "value", "minInterval": 1 if value_column == 1 and key != "amount_domain" else 0},
                  "yAxis": {"type": "category", "data": labels[::-1]},
                  "series": [{"type": "bar", "name": name, "data": values[::-1], "label": {"show": True,
                                                                                      "position": "right"}}]}
    return {"key": key, "title": title, "table": table, "option": option}


def _tiers_of(names, day):
    """Tiers in force on ``day`` of each enterprise (by name); an enterprise with none has an empty set."""
    out = {name: set() for name in names}
    rows = db.session.execute(select(Organisation.name, OrgTier).join(OrgTier, OrgTier.org_id == Organisation.id)
                              .where(Organisation.name.in_(list(names)))).all()
    for name, tier in rows:
        if organisations.tier_status(tier, day) in ("valid", "expiring"):
            out[name].add(tier.tier)
    return out


def _types_of(names):
    found = dict(db.session.execute(select(Organisation.name, OrgProfile.institute_type)
                                    .join(OrgProfile, OrgProfile.org_id == Organisation.id)
                                    .where(Organisation.name.in_(list(names)))).all())
    return {name: found.get(name) or NO_TYPE for name in names}
