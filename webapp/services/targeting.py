"""Targeting for an event: find enterprises in the district database, invite them, record who came.

Candidates are the database's enterprises filtered by tier (in force on the event's date), industry
code prefix and town, each with its match strength against the event's capabilities: the enterprise's
main products (else its name) ranked against the capabilities like a need, with the enterprise's
*verified* 保密资质, so a classified capability counts only for an enterprise allowed to see it. The
invitation list records who was invited, by whom, and who came. Organisers of the event only.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from matcher import clearance_allows
from matcher.lexical import BM25, analyse

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Invitation, Organisation, OrgProfile
from . import organisations
from .frames import records_frame


def _require_organiser(viewer, event):
    if not visibility.is_organiser(viewer, event.id):
        raise ValidationFailed(_("只有本对接会的组织方可以筛选和邀请企业。"))


def candidates(viewer, event, *, tier="", industry="", town="", min_strength=0.0):
    """Enterprises of the database matching the filters, strongest match first.

    Parameters
    ----------
    tier : str
        One of :data:`webapp.services.organisations.TIERS` in force on the event's date, or "" for any.
    industry : str
        Industry-code prefix (``C39``); "" for any.
    town : str
    min_strength : float
        Smallest match strength kept (0 keeps every enterprise, also those without a match).

    Returns
    -------
    list of dict
        ``organisation, profile, tiers, strength, capability_id, capability_title (None when classified),
        capability_org, invitation``.
    """
    _require_organiser(viewer, event)
    day = event.date or dt.date.today()
    query = (select(Organisation, OrgProfile).outerjoin(OrgProfile, OrgProfile.org_id == Organisation.id)
             .where(Organisation.kind == "enterprise"))
    if industry:
        query = query.where(OrgProfile.industry_code.startswith(industry.strip().upper()))
    if town:
        query = query.where(OrgProfile.town == town.strip())
    rows = db.session.execute(query.order_by(Organisation.name)).all()
    tiers = organisations.current_tiers([o.id for o, _p in rows], day)
    rows = [(o, p) for o, p in rows if not tier or tier in tiers.get(o.id, [])]
    best = _best_matches(viewer, event, rows)
    invited = {i.org_id: i for i in db.session.scalars(select(Invitation).where(Invitation.event_id == event.id))}
    out = []
    for organisation, profile in rows:
        match = best.get(organisation.id, {})
        if match.get("strength", 0.0) < min_strength:
            continue
        out.append({"organisation": organisation, "profile": profile, "tiers": tiers.get(organisation.id, []),
                    "strength": match.get("strength", 0.0), "capability_id": match.get("capability_id", ""),
                    "capability_title": match.get("capability_title"), "capability_org": match.get("capability_org", ""),
                    "invitation": invited.get(organisation.id)})
    return sorted(out, key=lambda r: (-r["strength"], r["organisation"].name))


def _best_matches(viewer, event, rows):
    """``{org_id: {strength, capability_id, capability_title, capability_org}}``: each enterprise's best capability.

    The strength is comparable across enterprises (unlike the ranking's per-query normalised score):
    the share of the enterprise's text, weighted by the terms' BM25 IDF over the event's capabilities,
    that the capability also contains, in [0, 1]; terms no capability has count with the largest IDF.
    Only capabilities the enterprise's verified qualification allows are considered.
    """
    capabilities = records_frame(viewer, event.id, "capability")
    if capabilities.empty or not rows:
        return {}
    records = capabilities.to_dict("records")
    texts = [" ".join(str(r[c]) for c in ("title", "description", "keywords") if r.get(c)) for r in records]
    bm25 = BM25().fit(texts)
    capability_terms = [set(analyse(t)) for t in texts]
    unknown_weight = float(bm25.idf_.max()) if len(bm25.idf_) else 1.0
    out = {}
    for organisation, profile in rows:
        terms = set(analyse((profile.main_products if profile is not None else "") or organisation.name))
        weights = {t: bm25.term_weight(t) or unknown_weight for t in terms}
        total = sum(weights.values())
        clearance = visibility.effective_clearance(organisation)
        best = None
        for record, held in zip(records, capability_terms):
            if not total or not clearance_allows(clearance, record["classification"]):
                continue
            strength = sum(w for t, w in weights.items() if t in held) / total
            if strength > 0 and (best is None or strength > best[0]):
                best = (strength, record)
        if best is not None:
            strength, record = best
            out[organisation.id] = {"strength": round(strength, 3), "capability_id": record["id"],
                                    "capability_title": record["title"] if record["classification"] == "公开" else None,
                                    "capability_org": record["org"]}
    return out


def invite(viewer, event, org_ids):
    """Put enterprises on the event's invitation list (already listed ones stay as they are); returns how many are new.

    Raises
    ------
    ValidationFailed
        Not an organiser of the event, nothing chosen, or an id that is not an enterprise of the database.
    """
    _require_organiser(viewer, event)
    wanted = {int(i) for i in org_ids if str(i).isdigit()}
    if not wanted:
        raise ValidationFailed(_("请先勾选要邀请的企业。"))
    known = set(db.session.scalars(select(Organisation.id).where(Organisation.id.in_(wanted),
                                                                 Organisation.kind == "enterprise")))
    if known != wanted:
        raise ValidationFailed(_("所选单位不在企业库中。"))
    listed = set(db.session.scalars(select(Invitation.org_id).where(Invitation.event_id == event.id)))
    for org_id in sorted(wanted - listed):
        db.session.add(Invitation(event_id=event.id, org_id=org_id, invited_by=viewer.username))
    db.session.commit()
    return len(wanted - listed)


def set_attended(viewer, event, invitation_id, attended):
    """Record whether an invited enterprise came."""
    _require_organiser(viewer, event)
    invitation = db.session.scalar(select(Invitation).filter_by(event_id=event.id, id=invitation_id))
    if invitation is None:
        raise NotFound()
    invitation.attended = bool(attended)
    db.session.commit()
    return invitation


def invitation_list(viewer, event):
    """The event's invitation list as a table for the page and the XLSX export (headers in the UI language)."""
    _require_organiser(viewer, event)
    rows = db.session.execute(select(Invitation, Organisation, OrgProfile)
                              .join(Organisation, Organisation.id == Invitation.org_id)
                              .outerjoin(OrgProfile, OrgProfile.org_id == Organisation.id)
                              .where(Invitation.event_id == event.id).order_by(Organisation.name)).all()
    tiers = organisations.current_tiers([o.id for _i, o, _p in rows], event.date or dt.date.today())
    return rows, pd.DataFrame({
        _("企业"): [o.name for _i, o, _p in rows],
        _("统一社会信用代码"): [(p.credit_code or "") if p else "" for _i, o, p in rows],
        _("行业代码"): [p.industry_code if p else "" for _i, o, p in rows],
        _("所在镇街"): [p.town if p else "" for _i, o, p in rows],
        _("有效梯队"): ["、".join(tiers.get(o.id, [])) for _i, o, _p in rows],
        _("邀请人"): [i.invited_by for i, _o, _p in rows],
        _("邀请时间"): [i.invited_at.strftime("%Y-%m-%d %H:%M") for i, _o, _p in rows],
        _("是否到会"): [_("到会") if i.attended else "" for i, _o, _p in rows],
    }, columns=[_("企业"), _("统一社会信用代码"), _("行业代码"), _("所在镇街"), _("有效梯队"), _("邀请人"), _("邀请时间"),
                _("是否到会")])
