"""Suggestions as pages show them: ranked partners of one record with decisions and eligibility, and overviews.

Eligibility is re-checked against the *current* records and verified qualifications
(:mod:`webapp.services.rules`), so a qualification that lapses shows before the next ranking.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from matcher import clearance_allows

from .. import visibility
from ..db import db
from ..models import Capability, Decision, Need, Suggestion, WithheldMatch
from .rules import need_clearances, qualifications


@dataclass
class Filters:
    """Suggestion filters from a query string: partner domain, minimum score, eligible only."""

    domain: str = ""
    min_score: float | None = None
    eligible_only: bool = True
    hide_rejected: bool = False

    @classmethod
    def from_args(cls, args):
        try:
            min_score = float(args["min_score"]) if args.get("min_score", "").strip() else None
        except ValueError:
            min_score = None
        # A form sends a hidden "0" before the checkbox's "1"; the API sends one value.
        values = args.getlist("eligible") if hasattr(args, "getlist") else [args.get("eligible", "1")]
        eligible = not values or any(v in ("1", "true", "on") for v in values)
        return cls(args.get("domain", "").strip(), min_score, eligible, args.get("hide_rejected") == "1")


def suggestions(viewer, event_id, *, need_id=None, capability_id=None, filters=None, limit=None):
    """Stored suggestions for one need (ranked capabilities) or one capability (ranked needs).

    Returns
    -------
    list of dict
        Suggestion columns plus ``decision`` ("accepted", "rejected" or None), ``locked``,
        ``eligible`` (clearance rule on the current records), ``terms`` (shared terms as a
        list) and ``partner_description``.
    """
    filters = filters or Filters()
    direction = "need" if need_id is not None else "capability"
    key = Suggestion.need_id == need_id if need_id is not None else Suggestion.capability_id == capability_id
    query = select(Suggestion).where(Suggestion.event_id == event_id, Suggestion.direction == direction, key)
    if filters.min_score is not None:
        query = query.where(Suggestion.score >= filters.min_score)
    if filters.domain:
        column = Suggestion.capability_domain if direction == "need" else Suggestion.need_domain
        query = query.where(column == filters.domain)
    # Every filter (visibility, eligibility, decisions) comes before the limit, so a caller asking
    # for ``limit`` rows gets that many whenever they exist.
    rows = visibility.filter_pairs(viewer, event_id, db.session.scalars(query.order_by(Suggestion.rank)).all())
    clearance, classification = pair_tiers(event_id, rows)
    decisions = _decisions(event_id, rows)
    kept = []
    for row in rows:
        decision = decisions.get((row.need_id, row.capability_id))
        tier_pair = clearance.get(row.need_id), classification.get(row.capability_id)
        eligible = None not in tier_pair and clearance_allows(*tier_pair)
        if (filters.eligible_only and not eligible) or (filters.hide_rejected and decision is not None
                                                         and decision.status == "rejected"):
            continue
        kept.append((row, decision, eligible))
    kept = kept[:limit]
    partner, partner_id = (Capability, "capability_id") if direction == "need" else (Need, "need_id")
    texts = dict(db.session.execute(select(getattr(partner, partner_id), partner.description).where(
        partner.event_id == event_id,
        getattr(partner, partner_id).in_({getattr(r, partner_id) for r, _d, _e in kept}))).all())
    out = []
    for row, decision, eligible in kept:
        item = {c.name: getattr(row, c.name) for c in Suggestion.__table__.columns}
        item["decision"] = decision.status if decision else None
        item["locked"] = bool(decision and decision.locked)
        item["eligible"] = eligible
        item["terms"] = [t for t in (row.shared_terms or "").split("；") if t]
        item["partner_description"] = texts.get(getattr(row, partner_id), "")
        out.append(item)
    return out


def withheld(viewer, event_id, need):
    """Strong matches the clearance rule keeps from ``need``, with why; organisers only (else []).

    Returns
    -------
    list of dict
        ``capability`` (record), ``score``, ``would_rank``, ``reason`` ("unverified", "expired" or
        "insufficient") and ``clearance`` (the qualification that counts now).
    """
    if not visibility.is_organiser(viewer, event_id):
        return []
    rows = db.session.scalars(select(WithheldMatch).where(WithheldMatch.event_id == event_id,
                                                          WithheldMatch.need_id == need.need_id)
                              .order_by(WithheldMatch.would_rank)).all()
    capabilities = {c.capability_id: c for c in db.session.scalars(select(Capability).where(
        Capability.event_id == event_id, Capability.capability_id.in_([r.capability_id for r in rows])))}
    clearance, note = qualifications([need.org]).get(need.org, ("无", ""))
    out = []
    for row in rows:
        capability = capabilities.get(row.capability_id)
        if capability is None or clearance_allows(clearance, capability.classification):
            continue  # verified since the ranking: it is a suggestion now
        reason = note or ("unverified" if clearance_allows(need.clearance, capability.classification)
                          else "insufficient")
        out.append({"capability": capability, "score": row.score, "would_rank": row.would_rank, "reason": reason,
                    "clearance": clearance})
    return out


def pair_tiers(event_id, rows):
    """``({need_id: effective clearance}, {capability_id: classification})`` of the rows' records."""
    capability_ids = {r.capability_id for r in rows}
    clearance = need_clearances(event_id, {r.need_id for r in rows})
    classification = dict(db.session.execute(select(Capability.capability_id, Capability.classification).where(
        Capability.event_id == event_id, Capability.capability_id.in_(capability_ids))).all())
    return clearance, classification


def _decisions(event_id, rows):
    if not rows:
        return {}
    need_ids = {r.need_id for r in rows}
    capability_ids = {r.capability_id for r in rows}
    found = db.session.scalars(select(Decision).where(
        Decision.event_id == event_id, Decision.need_id.in_(need_ids), Decision.capability_id.in_(capability_ids)))
    return {(d.need_id, d.capability_id): d for d in found}


def overview(viewer, event_id, kind, *, domain=""):
    """Records of one kind with their best suggestion and number of accepted pairs.

    Returns
    -------
    list of dict
        ``record``, ``top`` (the rank-1 Suggestion or None), ``strongest`` (the visible suggestion
        of highest calibrated strength, or None) and ``accepted`` (int).
    """
    model, id_column = (Need, "need_id") if kind == "need" else (Capability, "capability_id")
    query = select(model).where(visibility.clause(viewer, model, event_id))
    if domain:
        query = query.where(model.domain == domain)
    records = db.session.scalars(query.order_by(getattr(model, id_column))).all()
    suggestions_query = select(Suggestion).where(Suggestion.event_id == event_id, Suggestion.direction == kind)
    if viewer.everything:  # only rank 1 and each record's strongest row, not every suggestion
        order = func.row_number().over(partition_by=getattr(Suggestion, id_column),
                                       order_by=(Suggestion.strength.desc(), Suggestion.rank)).label("order")
        ranked = select(Suggestion.id, order).where(Suggestion.event_id == event_id,
                                                   Suggestion.direction == kind).subquery()
        suggestions_query = suggestions_query.join(ranked, ranked.c.id == Suggestion.id).where(
            (Suggestion.rank == 1) | (ranked.c.order == 1))
    tops, strongest = {}, {}
    # The best suggestion the viewer may see (rank 1 may be a hidden partner), and the strongest one
    # (the ordering score is per query; strength is absolute, so rank 1 need not be the strongest).
    for row in visibility.filter_pairs(viewer, event_id, db.session.scalars(suggestions_query.order_by(Suggestion.rank))):
        key = getattr(row, id_column)
        tops.setdefault(key, row)
        if key not in strongest or row.strength > strongest[key].strength:
            strongest[key] = row
    accepted = {}
    for decision in visibility.filter_pairs(viewer, event_id, db.session.scalars(select(Decision).where(
            Decision.event_id == event_id, Decision.status == "accepted"))):
        value = getattr(decision, id_column)
        accepted[value] = accepted.get(value, 0) + 1
    return [{"record": r, "top": tops.get(getattr(r, id_column)), "strongest": strongest.get(getattr(r, id_column)),
             "accepted": accepted.get(getattr(r, id_column), 0)} for r in records]
