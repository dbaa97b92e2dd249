"""The bureau's reports: per event and per period, as tidy frames (analysts), tables (pages, XLSX) and ECharts options.

Every figure counts only what the viewer may see (:mod:`webapp.visibility`): records by the tier
rule, pairs when both records are visible, amounts only of deals whose amount the viewer may see
(:func:`webapp.services.deals.amount_visible`), invitations only for the event's organisers (the
invitation list is theirs, :mod:`webapp.services.targeting`). Reports name no record titles at all, so a
classified capability's title cannot appear in one; organisations appear only as counts.

One path for every consumer: :func:`event_figures` counts, :func:`report_frames` turns the counts into
tidy frames with English columns (what analysts get, :mod:`webapp.analysis`), and :func:`sections` builds
the pages' and workbooks' tables (headers in the UI language) and charts from those frames. Each section
carries the definition (口径) of its figures.
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
from ..models import Capability, Decision, Event, Invitation, Need, Organisation, OrgProfile, OrgTier, Suggestion
from . import deals, organisations
from .outcomes import CONTRACT_TYPES, meetings_held, signed_outcomes

FUNNEL = ("suggested", "accepted", "met", "signed", "registered")
NO_TIER, NO_TYPE = "未入库", "未分类"
#: Ways an enterprise is reached, in the tier table's column order.
REACH = ("participating", "invited", "attended")


@dataclass
class Figures:
    """Raw figures of one event or a period (sums of events; organisations as sets, so none counts twice).

    Enterprises are counted three ways (:data:`REACH`): *participating* (with a need in the event the
    viewer may see), *invited* (on the event's invitation list) and *attended* (invited and marked as
    come). Invitations count only when the viewer may see them (``invitations_visible``).
    """

    signed_by_domain: dict = field(default_factory=dict)
    amounts: dict = field(default_factory=dict)          # (contract type, domain) → [deals, amount in 万元]
    funnel: dict = field(default_factory=lambda: dict.fromkeys(FUNNEL, 0))
    enterprise_tiers: dict = field(default_factory=dict)  # participating: org name → set of tiers in force
    invited_tiers: dict = field(default_factory=dict)     # invited: org name → set of tiers in force
    attended_tiers: dict = field(default_factory=dict)    # invited and came: org name → set of tiers in force
    institute_types: dict = field(default_factory=dict)   # org name → institute type
    invitations_visible: bool = True

    @property
    def amount_by_type(self):
        return _marginal(self.amounts, 0, 1)

    @property
    def deals_by_type(self):
        return _marginal(self.amounts, 0, 0)

    @property
    def amount_by_domain(self):
        return _marginal(self.amounts, 1, 1)

    def add(self, other):
        for mine, theirs in ((self.signed_by_domain, other.signed_by_domain), (self.funnel, other.funnel)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        for key, (count, amount) in other.amounts.items():
            held = self.amounts.setdefault(key, [0, 0.0])
            held[0], held[1] = held[0] + count, held[1] + amount
        for mine, theirs in ((self.enterprise_tiers, other.enterprise_tiers), (self.invited_tiers, other.invited_tiers),
                             (self.attended_tiers, other.attended_tiers)):
            for name, tiers in theirs.items():
                mine.setdefault(name, set()).update(tiers)
        self.institute_types.update(other.institute_types)
        self.invitations_visible = self.invitations_visible and other.invitations_visible
        return self


def _marginal(amounts, axis, value):
    out = {}
    for key, held in amounts.items():
        out[key[axis]] = out.get(key[axis], 0) + held[value]
    return out


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
            held = figures.amounts.setdefault((outcome.contract_type or NO_TYPE, outcome.domain), [0, 0.0])
            held[0], held[1] = held[0] + 1, held[1] + outcome.amount
    suggested = db.session.execute(select(Suggestion.need_id, Suggestion.capability_id).distinct()
                                   .where(Suggestion.event_id == event.id)).all()
    accepted = db.session.execute(select(Decision.need_id, Decision.capability_id).where(
        Decision.event_id == event.id, Decision.status == "accepted")).all()
    figures.funnel["suggested"] = len(visibility.filter_pairs(viewer, event.id, suggested))
    figures.funnel["accepted"] = len(visibility.filter_pairs(viewer, event.id, accepted))
    figures.funnel["met"] = len({(r["need_id"], r["capability_id"]) for r in meetings_held(viewer, event.id)})
    day = event.date or dt.date.today()
    enterprises = set(db.session.scalars(select(Need.org).distinct().where(
        visibility.need_clause(viewer, event.id), Need.org != "")))
    institutes = set(db.session.scalars(select(Capability.org).distinct().where(
        visibility.capability_clause(viewer, event.id), Capability.org != "")))
    figures.enterprise_tiers = _tiers_of(enterprises, day)
    figures.institute_types = _types_of(institutes)
    figures.invitations_visible = visibility.is_organiser(viewer, event.id)
    if figures.invitations_visible:
        invited = db.session.execute(select(Organisation.name, Invitation.attended)
                                     .join(Invitation, Invitation.org_id == Organisation.id)
                                     .where(Invitation.event_id == event.id)).all()
        figures.invited_tiers = _tiers_of({name for name, _came in invited}, day)
        figures.attended_tiers = {name: figures.invited_tiers[name] for name, came in invited if came}
    return figures


def period_events(viewer, start, end):
    """Events the viewer may open dated within ``[start, end]``, oldest first."""
    return db.session.scalars(select(Event).where(visibility.event_clause(viewer, Event.id), Event.date >= start,
                                                  Event.date <= end).order_by(Event.date, Event.id)).all()


@dataclass(frozen=True)
class ReportFrames:
    """A report's numbers as tidy frames with English columns (values such as domains and tiers stay Chinese).

    Attributes
    ----------
    signed : pandas.DataFrame
        ``domain, projects``: signed projects (签约 or 登记) per domain, one row per :data:`matcher.DOMAINS`.
    amounts : pandas.DataFrame
        ``contract_type, domain, deals, amount``: signed deals with an amount the viewer may see and their
        成交额 in 万元, one row per contract type × domain (zeros included; 未分类 only when present).
    funnel : pandas.DataFrame
        ``stage, count`` for suggested → accepted → met → signed → registered.
    enterprises : pandas.DataFrame
        ``tier, participating, invited, attended``: enterprises per tier in force on the event's date (an
        enterprise holding two tiers counts in both; 未入库 holds none). ``invited`` and ``attended`` are
        ``<NA>`` for a viewer who may not see the invitation list.
    institutes : pandas.DataFrame
        ``institute_type, institutes``: participating institutes per type.
    trend : pandas.DataFrame
        ``event_id, event, date, signed, registered, amount``: one row per event, oldest first.
    invitations_visible : bool
        Whether ``invited`` and ``attended`` were counted.
    """

    signed: pd.DataFrame
    amounts: pd.DataFrame
    funnel: pd.DataFrame
    enterprises: pd.DataFrame
    institutes: pd.DataFrame
    trend: pd.DataFrame
    invitations_visible: bool


def report_frames(figures, per_event):
    """The :class:`ReportFrames` of ``figures`` (one event's, or a period's sum) and ``per_event`` (``[(Event,
    Figures)]``, the trend's rows)."""
    kinds = [*CONTRACT_TYPES, *([NO_TYPE] if NO_TYPE in figures.deals_by_type else [])]
    cells = [(k, d, *figures.amounts.get((k, d), (0, 0.0))) for k in kinds for d in DOMAINS]
    tiers = [*organisations.TIERS, NO_TIER]
    reach = {"participating": figures.enterprise_tiers, "invited": figures.invited_tiers,
             "attended": figures.attended_tiers}
    enterprises = pd.DataFrame({"tier": tiers, **{
        way: pd.array([_holders(reach[way], t) if figures.invitations_visible or way == "participating" else None
                       for t in tiers], dtype="Int64") for way in REACH}})
    types = [*organisations.INSTITUTE_TYPES, NO_TYPE]
    return ReportFrames(
        signed=pd.DataFrame({"domain": list(DOMAINS), "projects": [figures.signed_by_domain.get(d, 0) for d in DOMAINS]}),
        amounts=pd.DataFrame(cells, columns=["contract_type", "domain", "deals", "amount"]).astype(
            {"deals": int, "amount": float}),
        funnel=pd.DataFrame({"stage": list(FUNNEL), "count": [figures.funnel[k] for k in FUNNEL]}),
        enterprises=enterprises,
        institutes=pd.DataFrame({"institute_type": types, "institutes": [
            sum(1 for v in figures.institute_types.values() if (v or NO_TYPE) == t) for t in types]}),
        trend=pd.DataFrame({
            "event_id": [e.id for e, _f in per_event], "event": [e.name for e, _f in per_event],
            "date": pd.to_datetime([e.date for e, _f in per_event]),
            "signed": [f.funnel["signed"] for _e, f in per_event],
            "registered": [f.funnel["registered"] for _e, f in per_event],
            "amount": [float(sum(f.amount_by_type.values())) for _e, f in per_event]}),
        invitations_visible=figures.invitations_visible)


def _holders(held, tier):
    """How many organisations of ``held`` (name → tiers) hold ``tier`` (for :data:`NO_TIER`: hold none)."""
    return sum(1 for tiers in held.values() if (tier in tiers if tier != NO_TIER else not tiers))


def event_frames(viewer, event):
    """The tidy frames of one event's report (see :class:`ReportFrames`); the caller checked the viewer may open it."""
    figures = event_figures(viewer, event)
    return report_frames(figures, [(event, figures)])


def period_frames(viewer, start, end):
    """The tidy frames of the period ``[start, end]``: the viewer's events summed, one trend row per event."""
    return _period(viewer, period_events(viewer, start, end))


def _period(viewer, events):
    total, per_event = Figures(), []
    for event in events:
        figures = event_figures(viewer, event)
        per_event.append((event, figures))
        total.add(figures)
    if not events:  # nothing to sum: invitations are counted for those who keep invitation lists
        total.invitations_visible = viewer.everything or viewer.role == "organiser"
    return report_frames(total, per_event)


def event_report(viewer, event):
    """Sections of one event's report (see the module docstring)."""
    return sections(event_frames(viewer, event))


def period_report(viewer, start, end):
    """The period's events and the sections of their report: the trend across events first, then the sums.

    Returns
    -------
    (list of Event, list of dict)
    """
    events = period_events(viewer, start, end)
    frames = _period(viewer, events)
    return events, [_trend_section(frames.trend), *sections(frames)]


def sections(frames):
    """Tables (headers in the UI language) and charts of a :class:`ReportFrames`, in the report's order.

    Each section is ``{key, title, note, table, option}``; ``note`` says which definition its figures use.
    """
    domain, projects, amount = _("领域"), _("签约项目"), _("成交额（万元）")
    signed = frames.signed.set_axis([domain, projects], axis=1)
    by_kind = frames.amounts.groupby("contract_type", sort=False)[["deals", "amount"]].sum().round(2).reset_index()
    by_kind.columns = [_("合同类型"), _("合同数"), amount]
    by_domain = frames.amounts.groupby("domain", sort=False)["amount"].sum().round(2).reset_index()
    by_domain.columns = [domain, amount]
    stages = {"suggested": _("推荐"), "accepted": _("接受"), "met": _("会面"), "signed": _("签约"),
              "registered": _("登记")}
    funnel = pd.DataFrame({_("阶段"): [stages[k] for k in frames.funnel["stage"]], _("数量"): frames.funnel["count"]})
    reach = {"participating": _("参会企业"), "invited": _("受邀企业"), "attended": _("到会企业")}
    shown = [way for way in REACH if frames.invitations_visible or way == "participating"]
    by_tier = frames.enterprises[["tier", *shown]].astype({way: int for way in shown})
    by_tier.columns = [_("梯队"), *(reach[way] for way in shown)]
    by_type = frames.institutes.set_axis([_("院所类型"), _("院所数")], axis=1)
    amounts_note = _("成交额：进入签约或登记阶段、填写了合同类型和金额的合作，单位万元；只计您可查看金额的合作（组织方和合作双方）。")
    tiers_note = _("参会企业：在本场提交了需求的企业；受邀企业：邀请名单上的企业；到会企业：邀请名单上标记为到会的企业。"
                   "梯队按对接会当日有效的认定计，一家企业可同时计入多个梯队；期间报告中每家企业只计一次。")
    if not frames.invitations_visible:
        tiers_note += _("邀请名单只对本场组织方可见，此处只计参会企业。")
    return [
        _section("signed", _("各领域签约项目"), signed, "bar",
                 note=_("签约项目：进入签约或登记阶段的合作（看板补记的成果按其项目数），按领域计。")),
        _section("amount_type", _("按合同类型的成交额"), by_kind, "bar", value_column=2, note=amounts_note),
        _section("amount_domain", _("按领域的成交额"), by_domain, "bar", note=amounts_note),
        _section("funnel", _("对接漏斗：推荐 → 接受 → 会面 → 签约 → 登记"), funnel, "funnel",
                 note=_("推荐：系统推荐过的配对；接受：已接受的配对；会面：排入会面日程的配对；签约、登记：合作进度所处阶段的项目数。")),
        _section("tiers", _("企业覆盖（按梯队）"), by_tier, "bars", note=tiers_note),
        _section("institutes", _("参会院所类型"), by_type, "pie",
                 note=_("参会院所：在本场提交了成果的院所，按单位库中的院所类型计。")),
    ]


def workbook_sheets(report_sections):
    """``{sheet name: frame}`` for :func:`matcher.export.write_workbook` (names cut to Excel's 31 characters),
    with a last sheet giving each table's definition."""
    sheets = {}
    for section in report_sections:
        name = section["title"].replace("：", " ").replace("→", "-")
        for mark in "[]:*?/\\":
            name = name.replace(mark, " ")
        sheets[name[:31]] = section["table"]
    notes = [(s["title"], s["note"]) for s in report_sections if s.get("note")]
    if notes:
        sheets[_("统计口径")[:31]] = pd.DataFrame(notes, columns=[_("表"), _("口径")])
    return sheets


def _trend_section(trend):
    table = pd.DataFrame({
        _("对接会"): trend["event"].tolist(),
        _("日期"): [d.date().isoformat() if not pd.isna(d) else "" for d in trend["date"]],
        _("签约项目"): trend["signed"].tolist(),
        _("登记项目"): trend["registered"].tolist(),
        _("成交额（万元）"): trend["amount"].round(2).tolist(),
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
    return {"key": "trend", "title": _("历届趋势"), "table": table, "option": option,
            "note": _("每场对接会的签约、登记项目数与成交额，口径同下。")}


def _section(key, title, table, kind, value_column=1, note=""):
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
        # "bars": one series per value column (e.g. enterprises participating, invited, attended per tier).
        columns = range(1, table.shape[1]) if kind == "bars" else [value_column]
        option = {"tooltip": {"trigger": "axis"},
                  # outerBoundsMode "same" (ECharts 6) keeps long category labels inside the chart; the right
                  # margin leaves room for the value written after each bar.
                  "grid": {"left": 24, "right": 64, "top": 32 if kind == "bars" else 16, "bottom": 8,
                           "outerBoundsMode": "same"},
                  "xAxis": {"type": "value", "minInterval": 1 if value_column == 1 and key != "amount_domain" else 0},
                  "yAxis": {"type": "category", "data": labels[::-1]},
                  # Several series per category: values stay in the table beside the chart, not on each bar.
                  "series": [{"type": "bar", "name": str(table.columns[c]), "data": table.iloc[:, c].tolist()[::-1],
                              "label": {"show": kind != "bars", "position": "right"}} for c in columns]}
        if kind == "bars":
            option["legend"] = {"top": 0}
    return {"key": key, "title": title, "note": note, "table": table, "option": option}


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
