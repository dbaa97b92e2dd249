"""Event statistics, signed outcomes and the organisation-level history kept across events."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from matcher import DOMAINS

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Decision, Event, Meeting, Need, OrgHistory, Outcome
from . import library


def exclusions(event_id):
    """Organisation pairs that met or signed at other events (``exclude`` for ``matcher.rank_pairs``).

    Returns
    -------
    pandas.DataFrame
        Columns ``need_org, capability_org``.
    """
    rows = db.session.execute(
        select(OrgHistory.need_org, OrgHistory.capability_org).distinct()
        .where(or_(OrgHistory.event_id.is_(None), OrgHistory.event_id != event_id))).all()
    return pd.DataFrame(rows, columns=["need_org", "capability_org"])


def domain_table(viewer, event_id):
    """Per-domain counts of needs, capabilities, accepted pairs, meetings and signed projects.

    Returns
    -------
    (list of dict, dict)
        One row per domain in :data:`matcher.DOMAINS` order, and the totals.
    """
    # Counts cover only what the viewer may see, so they reveal nothing about hidden records.
    need_domain = dict(db.session.execute(select(Need.need_id, Need.domain).where(
        visibility.need_clause(viewer, event_id))).all())
    accepted = visibility.filter_pairs(viewer, event_id, db.session.execute(
        select(Decision.need_id, Decision.capability_id).where(Decision.event_id == event_id,
                                                               Decision.status == "accepted")).all())
    meetings = visibility.filter_pairs(viewer, event_id, db.session.execute(
        select(Meeting.need_id, Meeting.capability_id).where(Meeting.event_id == event_id)).all())
    signed = {}
    for outcome in signed_outcomes(viewer, event_id):
        signed[outcome.domain] = signed.get(outcome.domain, 0) + outcome.count
    counts = {
        "needs": _count_by(Need.domain, visibility.need_clause(viewer, event_id)),
        "capabilities": _count_by(Capability.domain, visibility.capability_clause(viewer, event_id)),
        "accepted": _tally(need_domain, [r.need_id for r in accepted]),
        "meetings": _tally(need_domain, [r.need_id for r in meetings]),
        "signed": signed,
    }
    rows = [{"domain": d, **{k: int(v.get(d, 0) or 0) for k, v in counts.items()}} for d in DOMAINS]
    totals = {k: sum(r[k] for r in rows) for k in counts}
    return rows, totals


def _count_by(column, condition):
    return dict(db.session.execute(select(column, func.count()).where(condition).group_by(column)).all())


def _tally(domain_of, need_ids):
    out = {}
    for need_id in need_ids:
        domain = domain_of.get(need_id, "其他")
        out[domain] = out.get(domain, 0) + 1
    return out


def outcome_summary(viewer, event_id):
    """'8 项：2 新材料，4 先进制造与自动化，…' for the event's signed outcomes ('' when none)."""
    by_domain = {}
    for outcome in signed_outcomes(viewer, event_id):
        by_domain[outcome.domain] = by_domain.get(outcome.domain, 0) + outcome.count
    total = sum(int(v) for v in by_domain.values())
    if not total:
        return ""
    parts = [f"{int(by_domain[d])} {d}" for d in DOMAINS if by_domain.get(d)]
    return _("%(total)s 项：%(parts)s", total=total, parts="，".join(parts))


#: Types of 技术合同 as 技术合同认定登记 counts them.
CONTRACT_TYPES = ("技术开发", "技术转让", "技术许可", "技术咨询", "技术服务")
#: The deal pipeline (webapp.services.deals); outcomes recorded on the dashboard enter at 签约.
STAGES = ("意向", "洽谈", "签约", "登记")
#: Stages that count as a signed project.
SIGNED_STAGES = ("签约", "登记")


def meetings_held(viewer, event_id):
    """Pairs that met at the event (each meeting and the topics merged into it) the viewer may see.

    Returns
    -------
    list of dict
        ``need_id, capability_id, need_org, capability_org``, by organisation pair.
    """
    rows = []
    for meeting in db.session.scalars(select(Meeting).where(Meeting.event_id == event_id)
                                      .order_by(Meeting.need_org, Meeting.capability_org)):
        for need_id, capability_id in [(meeting.need_id, meeting.capability_id), *(meeting.topics or [])]:
            rows.append({"need_id": need_id, "capability_id": capability_id, "need_org": meeting.need_org,
                         "capability_org": meeting.capability_org})
    return visibility.filter_pairs(viewer, event_id, rows)


def add_outcome(event, form):
    """Record a signed outcome from the dashboard form; a pair outcome also enters the history.

    The domain of a pair's outcome is the need's (else the capability's) unless the form names one.

    Raises
    ------
    ValidationFailed
        Unknown pair, unknown domain, a count or amount out of range, an unknown contract type, or
        neither a pair nor a description.
    """
    errors = []
    pair = (form.get("pair") or "").strip()
    description = (form.get("description") or "").strip()
    domain = (form.get("domain") or "").strip()
    need = capability = None
    if pair:
        need_id, _sep, capability_id = pair.partition("|")
        need = db.session.scalar(select(Need).filter_by(event_id=event.id, need_id=need_id))
        capability = db.session.scalar(select(Capability).filter_by(event_id=event.id, capability_id=capability_id))
        if need is None or capability is None:
            errors.append({"field": "pair", "message": _("所选配对不存在。")})
        elif not domain:
            domain = need.domain or capability.domain
    if not pair and not description:
        errors.append({"field": "description", "message": _("请选择配对或填写签约内容。")})
    if domain not in DOMAINS:
        errors.append({"field": "domain", "message": _("请选择领域。")})
    count = _positive_int(form.get("count"))
    if count is None:
        errors.append({"field": "count", "message": _("项目数须为 1–10000 的整数。")})
    contract_type = (form.get("contract_type") or "").strip()
    if contract_type and contract_type not in CONTRACT_TYPES:
        errors.append({"field": "contract_type", "allowed": CONTRACT_TYPES,
                       "message": _("合同类型须为：%(allowed)s。", allowed="、".join(CONTRACT_TYPES))})
    amount = _amount(form.get("amount"))
    if amount is False:
        errors.append({"field": "amount", "message": _("合同金额须为 0–10000000 万元之间的数字。")})
    if errors:
        raise ValidationFailed(_("签约成果未保存：请修正标出的字段。"), errors)
    outcome = Outcome(event_id=event.id, description=description[:2000], domain=domain, count=count,
                      contract_type=contract_type, amount=amount, stage="签约", signed_on=dt.date.today(),
                      need_id=need.need_id if need else "", capability_id=capability.capability_id if capability else "",
                      need_org=need.org if need else "", capability_org=capability.org if capability else "")
    db.session.add(outcome)
    if need is not None:
        _remember(need.org, capability.org, event, "signed")
        library.record_outcome(event.id, need.need_id, capability.capability_id, "dealt")
    db.session.commit()
    return outcome


def delete_outcome(event, outcome_id):
    outcome = db.session.scalar(select(Outcome).filter_by(event_id=event.id, id=outcome_id))
    if outcome is not None:
        db.session.delete(outcome)
        db.session.commit()


def outcomes(viewer, event_id):
    rows = db.session.scalars(select(Outcome).where(Outcome.event_id == event_id).order_by(Outcome.id)).all()
    if visibility.is_organiser(viewer, event_id):
        return rows
    return [r for r in rows if r.need_id and visibility.pair_visible(viewer, event_id, r.need_id, r.capability_id)]


def signed_outcomes(viewer, event_id):
    """The visible outcomes at 签约 or 登记 (deals still at 意向 or 洽谈 are not signed projects)."""
    return [o for o in outcomes(viewer, event_id) if o.stage in SIGNED_STAGES]


def record_meetings(event):
    """Copy the event's scheduled meetings into the history (idempotent); return how many pairs are new.

    Raises
    ------
    ValidationFailed
        Before the event's date: meetings that have not happened are not history.
    """
    if event.date is not None and event.date > dt.date.today():
        raise ValidationFailed(_("对接会尚未举行（%(date)s）：会面发生后才能记入历史。", date=event.date.isoformat()))
    pairs = set(db.session.execute(select(Meeting.need_org, Meeting.capability_org)
                                   .where(Meeting.event_id == event.id)).all())
    added = sum(_remember(n, c, event, "met") for n, c in sorted(pairs))
    for need_id, capability_id in db.session.execute(select(Meeting.need_id, Meeting.capability_id)
                                                     .where(Meeting.event_id == event.id)).all():
        library.record_outcome(event.id, need_id, capability_id, "matched")
    db.session.commit()
    return added


def _remember(need_org, capability_org, event, kind):
    known = db.session.scalar(select(OrgHistory.id).filter_by(need_org=need_org, capability_org=capability_org,
                                                              event_id=event.id, kind=kind))
    if known is None:
        db.session.add(OrgHistory(need_org=need_org, capability_org=capability_org, event_id=event.id,
                                  event_name=event.name, kind=kind))
        return True
    return False


def history(viewer, limit=500):
    """The organisation-level history, newest first, with the event names kept even if an event is deleted."""
    return db.session.scalars(select(OrgHistory).where(visibility.event_clause(viewer, OrgHistory.event_id))
                              .order_by(OrgHistory.id.desc()).limit(limit)).all()


def history_outcomes(viewer):
    """Signed outcomes of every event, per event and domain (the cross-event table)."""
    rows = db.session.execute(select(Event.id, Event.name, Event.date, Outcome.domain, func.sum(Outcome.count))
                              .join(Outcome, Outcome.event_id == Event.id)
                              .where(visibility.event_clause(viewer, Event.id), Outcome.stage.in_(SIGNED_STAGES))
                              .group_by(Event.id, Event.name, Event.date, Outcome.domain)).all()
    table = {}
    for event_id, name, date, domain, count in rows:
        entry = table.setdefault(event_id, {"event_id": event_id, "name": name, "date": date, "total": 0,
                                            "by_domain": {}})
        entry["by_domain"][domain] = int(count)
        entry["total"] += int(count)
    return sorted(table.values(), key=lambda e: (e["date"] is None, e["date"]), reverse=True)


def _amount(value):
    """A contract amount in 万元: None when empty, False when not a number in range."""
    text = str(value or "").strip().replace(",", "")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return False
    return number if 0 <= number <= 10_000_000 else False


def _positive_int(value):
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 1 <= number <= 10_000 else None  # a count of projects, never a database overflow
