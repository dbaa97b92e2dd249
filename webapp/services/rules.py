"""The pairing rules on every write path: accept, lock, request, move and schedule.

Read paths filter what a viewer may *see* (:mod:`webapp.visibility`); this module decides
whether a need × capability pair may be *acted on*. Both use the qualification that counts,
the organisation's verified, unexpired 保密资质 (:func:`webapp.visibility.effective_clearance`),
never the 保密资质 column a spreadsheet declared, so neither an import nor an unverified
claim can open a classified capability to an enterprise.
"""
from __future__ import annotations

import datetime as dt
import math

from flask_babel import gettext as _
from sqlalchemy import select

from matcher import clearance_allows

from ..db import db
from ..models import Need, Organisation
from ..visibility import effective_clearance


def qualifications(org_names, *, today=None):
    """``{name: (effective clearance, note)}``; the note says why a declared qualification does not count.

    The note is "" when the declared qualification counts (or none was declared), else
    ``"unverified"`` or ``"expired"``. Unknown organisations hold 无.
    """
    names = {n for n in org_names if n}
    rows = {o.name: o for o in db.session.scalars(select(Organisation).where(Organisation.name.in_(names)))}
    today = today or dt.date.today()
    out = {}
    for name in names:
        organisation = rows.get(name)
        effective = effective_clearance(organisation, today)
        if organisation is None or organisation.clearance in ("", "无") or effective == organisation.clearance:
            out[name] = (effective, "")
        else:
            out[name] = (effective, "unverified" if organisation.verified_at is None else "expired")
    return out


def need_clearances(event_id, need_ids):
    """``{need_id: effective clearance of its organisation}`` for the given needs of the event."""
    orgs = dict(db.session.execute(select(Need.need_id, Need.org).where(
        Need.event_id == event_id, Need.need_id.in_(set(need_ids)))).all())
    names = set(orgs.values())
    rows = {o.name: o for o in db.session.scalars(select(Organisation).where(Organisation.name.in_(names)))}
    today = dt.date.today()
    return {need_id: effective_clearance(rows.get(org), today) for need_id, org in orgs.items()}


def refusal(event_id, need, capability, *, known=None):
    """Why the pair may not be accepted, locked, requested or scheduled ('' when it may).

    Checked on the current records and qualifications at the moment of the action;
    ``known`` is a :func:`qualifications` result to reuse across many pairs.
    """
    from .ranking import pair_score

    if need.org and need.org == capability.org:
        return _("同一单位的需求与成果不能配对。")
    clearance, note = (known if known is not None and need.org in known else qualifications([need.org])).get(
        need.org, ("无", ""))
    if not clearance_allows(clearance, capability.classification):
        if not note and clearance_allows(need.clearance, capability.classification):
            note = "unverified"  # the spreadsheet declared enough, but only a verified qualification counts
        if note == "unverified":
            return _("保密资质不足：“%(org)s”申报的保密资质尚未核验，按“无”处理，不能对接密级为“%(tier)s”的成果。",
                     org=need.org, tier=capability.classification)
        if note == "expired":
            return _("保密资质不足：“%(org)s”的保密资质已过期，按“无”处理，不能对接密级为“%(tier)s”的成果。",
                     org=need.org, tier=capability.classification)
        return _("保密资质不足：企业资质“%(clearance)s”不能对接密级为“%(tier)s”的成果。",
                 clearance=clearance, tier=capability.classification)
    score, rule = pair_score(event_id, need.need_id, capability.capability_id)
    if score is not None and math.isinf(score) and rule == "excluded":
        return _("这两家单位在以往对接会上已会面或签约，不再重复推荐。")
    return ""


def lapsed(event_id, pairs):
    """The reason each accepted pair no longer satisfies the rules, for flagging it to the organiser.

    Parameters
    ----------
    pairs : iterable of (Need, Capability)

    Returns
    -------
    dict
        ``{(need_id, capability_id): reason}`` for the pairs that fail now; the others are absent.
    """
    pairs = [(n, c) for n, c in pairs if n is not None and c is not None]
    known = qualifications({n.org for n, _c in pairs})
    out = {}
    for need, capability in pairs:
        reason = refusal(event_id, need, capability, known=known)
        if reason:
            out[(need.need_id, capability.capability_id)] = reason
    return out
