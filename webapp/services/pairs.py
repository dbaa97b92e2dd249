"""The organiser's decisions on pairs: accept, reject, lock one; bulk-accept; the accepted pairs; reset.

Every decision is checked against the current records and verified qualifications
(:mod:`webapp.services.rules`); forbidden pairs are refused with the rule's reason.
"""
from __future__ import annotations

import math

from flask_babel import gettext as _
from sqlalchemy import delete, select

from matcher import clearance_allows

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Decision, Need, Suggestion
from .ranking import pair_score
from .rules import lapsed, refusal
from .suggestions import pair_tiers

ACTIONS = ("accept", "reject", "lock", "unlock", "clear")


def decide(viewer, event, need_id, capability_id, action, *, source="organiser"):
    """Apply ``action`` (accept, reject, lock, unlock, clear) to a pair of the event.

    Returns
    -------
    Decision or None
        None after "clear".

    Raises
    ------
    ValidationFailed
        Unknown action or ids, or accepting a pair the rules forbid.
    """
    if action not in ACTIONS:
        raise ValidationFailed(_("未知操作“%(action)s”，可选：%(allowed)s", action=action, allowed=", ".join(ACTIONS)),
                               [{"field": "action", "message": "one of " + ", ".join(ACTIONS)}])
    need, capability = pair_records(viewer, event.id, need_id, capability_id)
    decision = db.session.scalar(select(Decision).filter_by(event_id=event.id, need_id=need_id,
                                                            capability_id=capability_id))
    if action == "clear":
        if decision is not None:
            db.session.delete(decision)
        db.session.commit()
        return None
    if action in ("accept", "lock"):
        refuse = refusal(event.id, need, capability)
        if refuse:
            raise ValidationFailed(refuse, [{"field": "capability_id", "message": refuse}])
    if decision is None:
        decision = Decision(event_id=event.id, need_id=need_id, capability_id=capability_id, source=source)
        db.session.add(decision)
    if action == "reject":
        decision.status, decision.locked, decision.lock_slot, decision.lock_table = "rejected", False, None, None
    elif action == "unlock":
        decision.locked, decision.lock_slot, decision.lock_table = False, None, None
    else:
        decision.status = "accepted"
        decision.locked = decision.locked or action == "lock"
    db.session.commit()
    return decision


def pair_records(viewer, event_id, need_id, capability_id):
    # Records the viewer may not see are reported exactly like ids that do not exist.
    need = db.session.scalar(select(Need).filter_by(need_id=need_id).where(visibility.need_clause(viewer, event_id)))
    capability = db.session.scalar(select(Capability).filter_by(capability_id=capability_id)
                                   .where(visibility.capability_clause(viewer, event_id)))
    problems = []
    if need is None:
        problems.append({"field": "need_id", "message": _("需求编号“%(id)s”不存在。", id=need_id)})
    if capability is None:
        problems.append({"field": "capability_id", "message": _("成果编号“%(id)s”不存在。", id=capability_id)})
    if problems:
        raise ValidationFailed("；".join(p["message"] for p in problems), problems)
    return need, capability


def accept_top(event, per_need, *, min_score=None):
    """Accept the best ``per_need`` eligible, undecided suggestions of every need; return how many."""
    if not isinstance(per_need, int) or not 1 <= per_need <= 10:
        raise ValidationFailed(_("每项需求接受的推荐数须为 1–10。"), [{"field": "per_need", "message": "1..10"}])
    query = select(Suggestion).where(Suggestion.event_id == event.id, Suggestion.direction == "need")
    if min_score is not None:
        query = query.where(Suggestion.score >= min_score)
    rows = db.session.scalars(query.order_by(Suggestion.need_id, Suggestion.rank)).all()
    decided = {(d.need_id, d.capability_id): d for d in db.session.scalars(
        select(Decision).where(Decision.event_id == event.id))}
    clearance, classification = pair_tiers(event.id, rows)
    taken, added = {}, 0
    for row in rows:
        if taken.get(row.need_id, 0) >= per_need:
            continue
        decision = decided.get((row.need_id, row.capability_id))
        tiers = clearance.get(row.need_id), classification.get(row.capability_id)
        if None in tiers or not clearance_allows(*tiers) or (decision and decision.status == "rejected"):
            continue
        taken[row.need_id] = taken.get(row.need_id, 0) + 1
        if decision is None:
            db.session.add(Decision(event_id=event.id, need_id=row.need_id, capability_id=row.capability_id,
                                    status="accepted", source="bulk"))
            added += 1
    db.session.commit()
    return added


def accepted_pairs(viewer, event_id):
    """Accepted pairs with titles, organisations, score (need-direction) and reason.

    Returns
    -------
    list of dict
        Keys ``decision`` (the Decision), ``need``, ``capability`` (records), ``score``, ``reason``, ``terms``
        and ``problem``: why the pair no longer satisfies the rules (e.g. a qualification that lapsed after
        it was accepted), '' when it does.
    """
    decisions = visibility.filter_pairs(viewer, event_id, db.session.scalars(
        select(Decision).where(Decision.event_id == event_id, Decision.status == "accepted")
        .order_by(Decision.need_id, Decision.capability_id)).all())
    needs = {n.need_id: n for n in db.session.scalars(select(Need).where(visibility.need_clause(viewer, event_id)))}
    capabilities = {c.capability_id: c for c in db.session.scalars(select(Capability).where(
        visibility.capability_clause(viewer, event_id)))}
    reasons = {(s.need_id, s.capability_id): s for s in db.session.scalars(select(Suggestion).where(
        Suggestion.event_id == event_id, Suggestion.direction == "need"))}
    problems = lapsed(event_id, [(needs.get(d.need_id), capabilities.get(d.capability_id)) for d in decisions])
    out = []
    for decision in decisions:
        suggestion = reasons.get((decision.need_id, decision.capability_id))
        score, _rule = pair_score(event_id, decision.need_id, decision.capability_id)
        out.append({"decision": decision, "need": needs.get(decision.need_id),
                    "capability": capabilities.get(decision.capability_id),
                    "score": score if score is not None and math.isfinite(score) else None,
                    "reason": suggestion.reason if suggestion else "",
                    "terms": [t for t in (suggestion.shared_terms if suggestion else "").split("；") if t],
                    "problem": problems.get((decision.need_id, decision.capability_id), "")})
    return out


def clear_all(event):
    """Forget every decision of the event (the pairings page's reset button)."""
    db.session.execute(delete(Decision).where(Decision.event_id == event.id).execution_options(event_id=event.id))
    db.session.commit()


