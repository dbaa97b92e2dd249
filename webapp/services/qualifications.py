"""Organisations' security qualifications (保密资质): who may see which, and verifying them.

Verifying a qualification is a security officer's act (role ``security``, or an administrator):
it needs the certificate number and an expiry date in the future, nobody verifies their own
organisation, and every change is written to the audit log by the caller with the values before.
Organisers see the organisations taking part in their own events, read-only; the same rule decides
whose certificates appear on the expiry list (:func:`expiring`).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import literal, select, true, union

from matcher import CLEARANCES

from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Need, Organisation
from .organisations import EXPIRY_NOTICE_DAYS

KINDS = ("enterprise", "institute")


def _event_scope(viewer):
    """SQL condition on an event id column for the events whose organisations' qualifications the viewer sees
    (None: the viewer sees no qualifications)."""
    if viewer.role == "organiser":
        return lambda column: column.in_(viewer.event_ids)
    if viewer.everything or viewer.role == "security":
        return lambda column: true()
    return None


def _taking_part(scope):
    """Names of the organisations with needs or capabilities in the events of ``scope``."""
    return set(db.session.scalars(union(select(Need.org).where(scope(Need.event_id), Need.org != ""),
                                        select(Capability.org).where(scope(Capability.event_id),
                                                                     Capability.org != ""))))


def listing(viewer):
    """Organisations the viewer may see, by name: every organisation for security officers and administrators,
    those with records in their own events for an organiser, none otherwise.

    Organisations that take part (have needs or capabilities) but hold no qualification record yet are
    listed too, as unsaved rows with 无, so an officer sees whom to verify.
    """
    scope = _event_scope(viewer)
    if scope is None:
        return []
    names = _taking_part(scope)
    query = select(Organisation)
    if viewer.role == "organiser":
        query = query.where(Organisation.name.in_(names))
    rows = {o.name: o for o in db.session.scalars(query)}
    kinds = dict(db.session.execute(select(Capability.org, literal("institute")).where(
        Capability.org.in_(names - set(rows)))).all())
    rows.update({name: Organisation(name=name, kind=kinds.get(name, "enterprise"), clearance="无")
                 for name in names - set(rows)})
    return [rows[name] for name in sorted(rows)]


def expiring(viewer, today=None, days=EXPIRY_NOTICE_DAYS):
    """保密资质 certificates that expired or expire within ``days``, soonest first, among the organisations
    whose qualifications the viewer may see (the rule of :func:`listing`).

    A withdrawn qualification (无) has no expiry and is not listed.

    Returns
    -------
    list of (Organisation, int)
        The organisation and the days left (negative: expired that many days ago).
    """
    scope = _event_scope(viewer)
    if scope is None:
        return []
    today = today or dt.date.today()
    query = select(Organisation).where(Organisation.clearance != "无", Organisation.expires_on.is_not(None),
                                       Organisation.expires_on <= today + dt.timedelta(days=days))
    if viewer.role == "organiser":
        query = query.where(Organisation.name.in_(_taking_part(scope)))
    rows = db.session.scalars(query.order_by(Organisation.expires_on, Organisation.name)).all()
    return [(organisation, (organisation.expires_on - today).days) for organisation in rows]


def verify(user, *, name, clearance, certificate_no, expires_on, kind=""):
    """Record a verified qualification (or withdraw one with ``clearance="无"``) and commit it.

    The pages of every event the organisation takes part in change with it (eligibility, flags);
    :mod:`webapp.changes` invalidates them. The caller writes the audit entry.

    Returns
    -------
    (Organisation, str)
        The organisation (created when new) and a description of its qualification before.

    Raises
    ------
    ValidationFailed
        The user may not verify qualifications, or it is their own organisation; a missing or
        unknown level, certificate number, or an expiry date that is not in the future.
    """
    if user.role not in ("security", "admin"):
        raise ValidationFailed(_("只有保密审查员或管理员可以核验保密资质。"))
    name, certificate_no = (name or "").strip()[:200], (certificate_no or "").strip()[:100]
    problems = []
    if not name:
        problems.append({"field": "name", "message": _("请填写单位名称。")})
    if clearance not in CLEARANCES:
        problems.append({"field": "clearance",
                         "message": _("资质等级须为：%(allowed)s。", allowed="、".join(CLEARANCES))})
    expires = _date((expires_on or "").strip())
    if clearance != "无":
        if not certificate_no:
            problems.append({"field": "certificate_no", "message": _("请填写保密资质证书编号。")})
        if expires is None or expires <= dt.date.today():
            problems.append({"field": "expires_on", "message": _("有效期须为今天之后的日期（YYYY-MM-DD）。")})
    if problems:
        raise ValidationFailed("；".join(p["message"] for p in problems), problems)
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is not None and user.org_id is not None and organisation.id == user.org_id:
        raise ValidationFailed(_("不能核验本单位的保密资质，请由其他审查员核验。"))
    if organisation is None:
        organisation = Organisation(name=name, kind=kind if kind in KINDS else "enterprise")
        db.session.add(organisation)
    before = (f"clearance={organisation.clearance} certificate={organisation.certificate_no} "
              f"expires={organisation.expires_on} verified_by={organisation.verified_by}")
    verified = clearance != "无"
    organisation.clearance = clearance
    organisation.certificate_no = certificate_no if verified else ""
    organisation.expires_on = expires if verified else None
    organisation.verified_by = user.username
    organisation.verified_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) if verified else None
    db.session.commit()
    return organisation, before


def _date(text):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
