"""The deal pipeline of a pair after the event: 意向 → 洽谈 → 签约 → 登记 (技术合同认定登记).

A deal is an :class:`~webapp.models.Outcome` row with a ``stage``: outcomes recorded on the dashboard
enter at 签约 and continue here to 登记. A deal moves one stage forward at a time; 签约 needs the contract
type, the amount (成交额, 万元) and the signing date; 登记 needs the registration number and date (not
before signing). Each move is a :class:`~webapp.models.DealStep`, which may carry a note; a note without
a move is a step that stays at its stage. Only 签约 and 登记 count as signed projects.

Who moves a deal: the event's organisers, any stage; the two parties (members of the need's or the
capability's organisation) their own deal from 意向 to 洽谈 (:data:`PARTY_STAGES`), and they write notes
on it. 签约 and 登记 stay with the organisers, who enter them from the signed contract and the
registration certificate: these are the figures the bureau reports (signed projects, amounts,
技术合同认定登记), so one accountable hand enters them; a party says in a note that the contract is
signed, and an organiser confirms it by moving the deal.

Who sees what: a deal is visible when its pair is (:mod:`webapp.visibility`); its amount and notes only
to the event's organisers and to members of the two organisations of the pair (:func:`amount_visible`).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, DealStep, Need, Outcome
from .outcomes import CONTRACT_TYPES, SIGNED_STAGES, STAGES, _amount

__all__ = ["PARTY_STAGES", "SIGNED_STAGES", "STAGES", "add_note", "advance", "amount_visible", "is_party", "listing",
           "may_advance", "next_stage", "open_deal", "steps"]
#: Stages the parties of a deal may move it into themselves (签约 and 登记 are the organisers').
PARTY_STAGES = ("洽谈",)
#: Longest note, in characters.
NOTE_LIMIT = 2000


def next_stage(stage):
    """The stage after ``stage`` (None after 登记)."""
    position = STAGES.index(stage)
    return STAGES[position + 1] if position + 1 < len(STAGES) else None


def is_party(viewer, outcome):
    """Whether the viewer is a member of either organisation of the deal's pair."""
    return (viewer.role in visibility.MEMBER_ROLES and bool(viewer.org)
            and viewer.org in (outcome.need_org, outcome.capability_org))


def amount_visible(viewer, event_id, outcome):
    """Organisers of the event and members of either organisation of the pair see a deal's amount and notes."""
    return visibility.is_organiser(viewer, event_id) or is_party(viewer, outcome)


def may_advance(viewer, event_id, outcome):
    """Whether the viewer may move the (visible) deal to its next stage: organisers always, parties into
    :data:`PARTY_STAGES` only."""
    target = next_stage(outcome.stage)
    if target is None:
        return False
    return visibility.is_organiser(viewer, event_id) or (is_party(viewer, outcome) and target in PARTY_STAGES)


def listing(viewer, event_id):
    """The event's deals the viewer may see, as dicts for pages and the API (amount None when hidden).

    Returns
    -------
    list of dict
        ``id, need_id, capability_id, need_org, capability_org, description, domain, stage, count,
        contract_type, amount, amount_visible, signed_on, registration_no, registered_on, next_stage``,
        and what the viewer may do: ``may_advance`` (:func:`may_advance`), ``may_note`` (organisers and
        parties), ``party``.
    """
    from .outcomes import outcomes

    rows = []
    for outcome in outcomes(viewer, event_id):
        shown = amount_visible(viewer, event_id, outcome)
        rows.append({
            "may_advance": may_advance(viewer, event_id, outcome), "may_note": shown,
            "party": is_party(viewer, outcome),
            "id": outcome.id, "need_id": outcome.need_id, "capability_id": outcome.capability_id,
            "need_org": outcome.need_org, "capability_org": outcome.capability_org,
            "description": outcome.description, "domain": outcome.domain, "stage": outcome.stage,
            "count": outcome.count, "contract_type": outcome.contract_type,
            "amount": outcome.amount if shown else None, "amount_visible": shown,
            "signed_on": outcome.signed_on.isoformat() if outcome.signed_on else None,
            "registration_no": outcome.registration_no if shown else "",
            "registered_on": outcome.registered_on.isoformat() if outcome.registered_on else None,
            "next_stage": next_stage(outcome.stage), "signed": outcome.stage in SIGNED_STAGES,
            # What the form for the next stage asks for (see advance()).
            "asks_contract": next_stage(outcome.stage) == "签约" or (
                next_stage(outcome.stage) == "登记" and (not outcome.contract_type or not outcome.amount)),
            "asks_signing_date": next_stage(outcome.stage) == "签约",
            "asks_registration": next_stage(outcome.stage) == "登记"})
    return rows


def steps(viewer, event_id):
    """Moves and notes of the deals the viewer may follow (organisers, the two parties), newest first.

    Returns
    -------
    dict
        ``{outcome_id: [{created_at, from_stage, to_stage, username, moved, note}, …]}``; deals whose
        amount the viewer may not see (:func:`amount_visible`) have no entry: their history and notes
        are the parties' and the organisers'.
    """
    followed = {row["id"] for row in listing(viewer, event_id) if row["may_note"]}
    out = {}
    for step in db.session.scalars(select(DealStep).where(DealStep.event_id == event_id).order_by(DealStep.id.desc())):
        if step.outcome_id in followed:
            out.setdefault(step.outcome_id, []).append({
                "created_at": step.created_at, "from_stage": step.from_stage, "to_stage": step.to_stage,
                "username": step.username, "moved": step.from_stage != step.to_stage, "note": step.note})
    return out


def _deal(viewer, event_id, outcome_id):
    """The event's deal the viewer may see, else 404 (the same answer for a hidden and a missing deal)."""
    outcome = db.session.scalar(select(Outcome).filter_by(event_id=event_id, id=outcome_id))
    if outcome is None or not (visibility.is_organiser(viewer, event_id) or (
            outcome.need_id and visibility.pair_visible(viewer, event_id, outcome.need_id, outcome.capability_id))):
        raise NotFound()
    return outcome


def _note(form):
    """The note of a form (stripped) and the problems with it."""
    text = (form.get("note") or "").strip()
    if len(text) > NOTE_LIMIT:
        return text, [{"field": "note", "value": text[:40] + "…",
                       "message": _("备注最多 %(n)s 个字符。", n=NOTE_LIMIT)}]
    return text, []


def add_note(viewer, event, outcome_id, form):
    """Write a note on a deal without moving it (organisers and the two parties); returns the step.

    Raises
    ------
    NotFound
        No such deal in the event, or one the viewer may not see.
    AccessDenied
        Not an organiser of the event nor a member of either organisation of the pair.
    ValidationFailed
        An empty note or one longer than :data:`NOTE_LIMIT` characters.
    """
    from ..access import AccessDenied

    outcome = _deal(viewer, event.id, outcome_id)
    if not amount_visible(viewer, event.id, outcome):
        raise AccessDenied(_("只有本对接会的组织方和合作双方可以记录合作备注。"))
    text, problems = _note(form)
    if not text:
        problems.append({"field": "note", "value": "", "message": _("请填写备注。")})
    if problems:
        raise ValidationFailed(problems[0]["message"], problems)
    step = DealStep(outcome_id=outcome.id, event_id=event.id, from_stage=outcome.stage, to_stage=outcome.stage,
                    username=viewer.username, note=text)
    db.session.add(step)
    db.session.commit()
    return step


def open_deal(viewer, event, form):
    """Start a deal at 意向 for a pair of the event (organisers); returns the Outcome.

    Raises
    ------
    ValidationFailed
        Not an organiser of the event, an unknown pair, or a pair that already has a deal.
    """
    if not visibility.is_organiser(viewer, event.id):
        raise ValidationFailed(_("只有本对接会的组织方可以登记合作意向。"))
    need_id, _sep, capability_id = (form.get("pair") or "").partition("|")
    need = db.session.scalar(select(Need).filter_by(event_id=event.id, need_id=need_id))
    capability = db.session.scalar(select(Capability).filter_by(event_id=event.id, capability_id=capability_id))
    if need is None or capability is None:
        raise ValidationFailed(_("所选配对不存在。"), [{"field": "pair", "value": form.get("pair"),
                                                       "message": _("所选配对不存在。")}])
    known = db.session.scalar(select(Outcome.id).filter_by(event_id=event.id, need_id=need_id,
                                                            capability_id=capability_id))
    if known is not None:
        raise ValidationFailed(_("该配对已在跟进中。"), [{"field": "pair", "value": form.get("pair"),
                                                        "message": _("该配对已在跟进中。")}])
    outcome = Outcome(event_id=event.id, need_id=need.need_id, capability_id=capability.capability_id,
                      need_org=need.org, capability_org=capability.org, domain=need.domain or capability.domain,
                      description=(form.get("description") or "").strip()[:2000], count=1, stage="意向")
    db.session.add(outcome)
    db.session.flush()
    db.session.add(DealStep(outcome_id=outcome.id, event_id=event.id, from_stage="", to_stage="意向",
                            username=viewer.username))
    db.session.commit()
    return outcome


def advance(viewer, event, outcome_id, form, today=None):
    """Move a deal to its next stage with that stage's details; returns the new stage.

    A party of the deal may move it into :data:`PARTY_STAGES` only. The form's ``note`` (optional) is
    kept with the move.

    Raises
    ------
    NotFound
        No such deal in the event, or one the viewer may not see.
    AccessDenied
        Neither an organiser of the event nor a party of the deal; or a party moving it into a stage
        that is the organisers' (签约, 登记).
    ValidationFailed
        ``to`` is not the next stage (stages are never skipped or undone); 签约 without contract type,
        amount or a signing date not in the future; 登记 without registration number or with a date
        before signing or in the future; a note longer than :data:`NOTE_LIMIT`.
    """
    from ..access import AccessDenied

    outcome = _deal(viewer, event.id, outcome_id)
    organiser = visibility.is_organiser(viewer, event.id)
    if not organiser and not is_party(viewer, outcome):
        raise AccessDenied(_("只有本对接会的组织方和合作双方可以推进合作进度。"))
    today = today or dt.date.today()
    target, allowed = (form.get("to") or "").strip(), next_stage(outcome.stage)
    if target != allowed:
        raise ValidationFailed(_("“%(stage)s”之后只能进入“%(next)s”（不能跳过或退回）。", stage=outcome.stage,
                                 next=allowed or "—"),
                               [{"field": "to", "value": target, "allowed": [allowed] if allowed else [],
                                 "message": _("不能从“%(stage)s”进入“%(to)s”。", stage=outcome.stage, to=target)}])
    if not organiser and target not in PARTY_STAGES:
        raise AccessDenied(_("“%(stage)s”由组织方根据合同和登记证明录入；合作双方可以在备注中说明进展，由组织方确认。",
                             stage=target))
    note, problems = _note(form)
    if target == "签约" or (target == "登记" and (not outcome.contract_type or not outcome.amount)):
        # An outcome recorded on the dashboard without type or amount completes them on its way to 登记.
        contract, more = _contract_terms(form, today, signed=target == "签约")
        problems += more
        if not problems:
            outcome.contract_type, outcome.amount = contract["contract_type"], contract["amount"]
            outcome.signed_on = contract["signed_on"] or outcome.signed_on
    if target == "登记":
        number, registered_on = (form.get("registration_no") or "").strip(), _date(form.get("registered_on"))
        if not number or len(number) > 40:
            problems.append({"field": "registration_no", "value": number,
                             "message": _("登记须填写技术合同登记编号（最多 40 个字符）。")})
        if registered_on is None or registered_on > today or (outcome.signed_on and registered_on < outcome.signed_on):
            problems.append({"field": "registered_on", "value": form.get("registered_on"),
                             "message": _("登记日期须在签约日期之后、今天或之前（YYYY-MM-DD）。")})
        if not problems:
            outcome.registration_no, outcome.registered_on = number, registered_on
    if problems:
        raise ValidationFailed("；".join(p["message"] for p in problems), problems)
    db.session.add(DealStep(outcome_id=outcome.id, event_id=event.id, from_stage=outcome.stage, to_stage=target,
                            username=viewer.username, note=note))
    outcome.stage = target
    if target == "签约" and outcome.need_id:
        from .outcomes import _remember

        _remember(outcome.need_org, outcome.capability_org, event, "signed")
    db.session.commit()
    return target


def _contract_terms(form, today, *, signed):
    """Contract type, amount and (when ``signed``) the signing date from a form, and the problems found."""
    problems = []
    contract_type, amount = (form.get("contract_type") or "").strip(), _amount(form.get("amount"))
    signed_text = (form.get("signed_on") or "").strip()
    signed_on = (_date(signed_text) if signed_text else today) if signed else None
    if contract_type not in CONTRACT_TYPES:
        problems.append({"field": "contract_type", "value": contract_type, "allowed": CONTRACT_TYPES,
                         "message": _("合同类型须为：%(allowed)s。", allowed="、".join(CONTRACT_TYPES))})
    if amount in (None, False) or amount <= 0:
        problems.append({"field": "amount", "value": form.get("amount"),
                         "message": _("签约须填写成交额（大于 0、不超过 10000000 万元）。")})
    if signed and (signed_on is None or signed_on > today):
        problems.append({"field": "signed_on", "value": signed_text,
                         "message": _("签约日期须为今天或之前的日期（YYYY-MM-DD）。")})
    return {"contract_type": contract_type, "amount": amount, "signed_on": signed_on}, problems


def _date(value):
    text = str(value or "").strip()
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def candidates(viewer, event_id):
    """Pairs an organiser may open a deal for: accepted or met pairs without a deal yet, by organisation.

    Returns
    -------
    list of dict
        ``need_id, capability_id, need_org, capability_org``.
    """
    from ..models import Decision
    from .outcomes import meetings_held

    if not visibility.is_organiser(viewer, event_id):
        return []
    taken = set(db.session.execute(select(Outcome.need_id, Outcome.capability_id)
                                   .where(Outcome.event_id == event_id)).all())
    accepted = db.session.execute(
        select(Decision.need_id, Decision.capability_id, Need.org, Capability.org)
        .join(Need, (Need.event_id == Decision.event_id) & (Need.need_id == Decision.need_id))
        .join(Capability, (Capability.event_id == Decision.event_id)
              & (Capability.capability_id == Decision.capability_id))
        .where(Decision.event_id == event_id, Decision.status == "accepted")).all()
    rows = {(r["need_id"], r["capability_id"]): r for r in meetings_held(viewer, event_id)}
    for need_id, capability_id, need_org, capability_org in accepted:
        rows.setdefault((need_id, capability_id), {"need_id": need_id, "capability_id": capability_id,
                                                   "need_org": need_org, "capability_org": capability_org})
    return sorted((r for key, r in rows.items() if key not in taken),
                  key=lambda r: (r["need_org"], r["capability_org"], r["need_id"], r["capability_id"]))
