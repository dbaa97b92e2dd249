"""Participants' wishes about pairs (必见 / 愿见 / 不见) and the planner's candidate pairs with their weights.

A member marks a pair on behalf of its own organisation, on the side it owns (the enterprise on
the need side, the institute on the capability side); organisers may mark either side for a
participant. The weight rule is :func:`matcher.planning.wishes.wish_weights`.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Decision, Wish
from . import phases
from .pairs import pair_records
from .rules import refusal

LEVELS = ("must", "want", "never")
LABELS = {"must": _l("必见"), "want": _l("愿见"), "never": _l("不见")}
SIDES = ("need", "capability")


def _side(viewer, event, need, capability, requested):
    if visibility.is_organiser(viewer, event.id) or viewer.role == "admin":
        if requested not in SIDES:
            raise ValidationFailed(_("请指明代哪一方填写意向（需求方或成果方）。"), [{"field": "side", "message": "need|capability"}])
        return requested
    if viewer.role in visibility.MEMBER_ROLES and viewer.org:
        if need.org == viewer.org and requested in ("", None, "need"):
            return "need"
        if capability.org == viewer.org and requested in ("", None, "capability"):
            return "capability"
    raise ValidationFailed(_("只能为本单位的需求或成果填写意向。"))


def set_wish(viewer, event, need_id, capability_id, level, side=None):
    """Record (or with ``level`` "" clear) one side's wish about a pair.

    Raises
    ------
    ValidationFailed
        Unknown or invisible ids, a pair not of the viewer's organisation, an unknown level, the
        phase not allowing wishes, or (for 必见/愿见) a pair the rules forbid.
    """
    level = (level or "").strip()
    if level not in ("",) + LEVELS:
        raise ValidationFailed(_("意向须为 必见、愿见 或 不见。"), [{"field": "level", "message": level}])
    need, capability = pair_records(viewer, event.id, (need_id or "").strip(), (capability_id or "").strip())
    side = _side(viewer, event, need, capability, side)
    phases.require(viewer, event, "wish")
    if level in ("must", "want"):
        reason = refusal(event.id, need, capability)
        if reason:
            raise ValidationFailed(reason)
    wish = db.session.scalar(select(Wish).filter_by(event_id=event.id, need_id=need.need_id,
                                                    capability_id=capability.capability_id, side=side))
    if not level:
        if wish is not None:
            db.session.delete(wish)
    elif wish is None:
        db.session.add(Wish(event_id=event.id, need_id=need.need_id, capability_id=capability.capability_id,
                            side=side, level=level, username=viewer.username or ""))
    else:
        wish.level, wish.username = level, viewer.username or ""
    db.session.commit()
    return side


def wish_table(event_id):
    """``{(need_id, capability_id): {"need": level, "capability": level}}`` of every wish (for the planner)."""
    out = {}
    for wish in db.session.scalars(select(Wish).where(Wish.event_id == event_id)):
        out.setdefault((wish.need_id, wish.capability_id), {})[wish.side] = wish.level
    return out


def visible_wishes(viewer, event_id):
    """The wishes the viewer may see: organisers all, members those their organisation made."""
    rows = visibility.filter_pairs(viewer, event_id, db.session.scalars(
        select(Wish).where(Wish.event_id == event_id)).all())
    if visibility.is_organiser(viewer, event_id) or viewer.role == "admin":
        return rows
    own_needs, own_capabilities = visibility.own_ids(viewer, event_id)
    return [w for w in rows if (w.side == "need" and w.need_id in own_needs)
            or (w.side == "capability" and w.capability_id in own_capabilities)]


def wished_pairs(event_id):
    """Pairs someone marked 必见 or 愿见 that the organiser has not rejected (they join the planner's candidates)."""
    rejected = set(db.session.execute(select(Decision.need_id, Decision.capability_id).where(
        Decision.event_id == event_id, Decision.status == "rejected")).all())
    return sorted({(w.need_id, w.capability_id) for w in db.session.scalars(
        select(Wish).where(Wish.event_id == event_id, Wish.level.in_(("must", "want"))))} - rejected)


def own_levels(viewer, event, kind, record):
    """``{partner id: level}`` of the viewer's organisation's wishes on ``record``'s suggestions, or None
    when the viewer may not mark them (not its organisation's record, or the phase is closed)."""
    if viewer.role not in visibility.MEMBER_ROLES or not viewer.org or record.org != viewer.org:
        return None
    if not phases.allows(viewer, event, "wish"):
        return None
    if kind == "need":
        rows = select(Wish.capability_id, Wish.level).where(Wish.event_id == event.id, Wish.side == "need",
                                                           Wish.need_id == record.need_id)
    else:
        rows = select(Wish.need_id, Wish.level).where(Wish.event_id == event.id, Wish.side == "capability",
                                                      Wish.capability_id == record.capability_id)
    return dict(db.session.execute(rows).all())
