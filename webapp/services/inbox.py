"""The in-app inbox: notices to an organisation's members or to one user, read in the reader's language.

A notice stores a ``kind`` and its parameters (record ids, not texts); the page renders it in the
reader's language and shows record titles only as far as the reader may see them, so a notice can
never carry more than its reader may know.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from .. import visibility
from ..db import db
from ..models import Capability, InboxMessage, Need
from ..ui import VOCABULARY

#: Notice kind → text (parameters: need, capability: titles or ids; status-specific extras).
TEXTS = {
    "request_approved": _l("您就“%(need)s ↔ %(capability)s”提交的会面申请已获组织方批准，将安排洽谈。"),
    "request_declined": _l("您就“%(need)s ↔ %(capability)s”提交的会面申请未获批准。"),
    "library_match": _l("为您推荐：新发布的“%(item)s”与贵单位的“%(other)s”匹配强度 %(strength)s（%(band)s）。"),
    "library_expiring": _l("贵单位发布的“%(item)s”将于 %(until)s 到期，可在库内续期或下架。"),
    "library_expired": _l("贵单位发布的“%(item)s”已过期，已从公开目录撤下；续期后可重新展示。"),
    "contact_request": _l("%(requester)s 申请获取“%(item)s”的联系方式，请在该条目页面同意或拒绝。"),
    "contact_accepted": _l("“%(item)s”的发布单位已同意您的联系申请，联系方式已在条目页面显示。"),
    "contact_declined": _l("“%(item)s”的发布单位未同意您的联系申请。"),
    "proposal_roadshow": _l("贵单位对“%(call)s”的揭榜方案已列入“%(event)s”的成果路演，请准备路演。"),
}


#: Text of "为您推荐" notices stored before they carried the calibrated strength.
LEGACY_MATCH = _l("为您推荐：新发布的“%(item)s”与贵单位的“%(other)s”高度匹配（相似度 %(score)s）。")


def notify(kind, *, org=None, user_id=None, event_id=None, link="", **params):
    """Add a notice for an organisation's members (``org``) or one user; the caller commits."""
    if kind not in TEXTS:
        raise ValueError(f"unknown notice kind {kind!r}; known: {', '.join(TEXTS)}")
    db.session.add(InboxMessage(recipient_org=org, recipient_user_id=user_id, event_id=event_id, kind=kind,
                                params=params, link=link))


def exists(kind, *, org=None, **params):
    """Whether the organisation already has a notice of ``kind`` with these parameters (for once-only reminders)."""
    rows = db.session.scalars(select(InboxMessage.params).where(InboxMessage.kind == kind,
                                                                InboxMessage.recipient_org == org))
    return any(all((row or {}).get(key) == value for key, value in params.items()) for row in rows)


def _mine(viewer):
    conditions = [InboxMessage.recipient_user_id == viewer.user_id]
    if viewer.org:
        conditions.append(InboxMessage.recipient_org == viewer.org)
    return or_(*conditions)


def unread_query(viewer):
    """SQL scalar subquery counting the viewer's unread notices (the page cache reads it with its own query)."""
    return select(func.count()).select_from(InboxMessage).where(
        _mine(viewer), InboxMessage.read_at.is_(None)).scalar_subquery()


def unread_count(viewer):
    """How many notices the viewer has not read (0 for anonymous viewers)."""
    if viewer.user_id is None:
        return 0
    return db.session.scalar(select(unread_query(viewer)))


def messages(viewer, *, limit=100):
    """The viewer's newest notices, each with its ``text`` in the current language."""
    if viewer.user_id is None:
        return []
    rows = db.session.scalars(select(InboxMessage).where(_mine(viewer)).order_by(InboxMessage.id.desc())
                              .limit(limit)).all()
    return [{"message": row, "text": _render(viewer, row)} for row in rows]


def mark_read(viewer):
    """Mark every notice of the viewer as read."""
    if viewer.user_id is None:
        return
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for row in db.session.scalars(select(InboxMessage).where(_mine(viewer), InboxMessage.read_at.is_(None))):
        row.read_at = now
    db.session.commit()


def _render(viewer, row):
    params = dict(row.params or {})
    if row.event_id is not None and "need_id" in params:
        need = db.session.scalar(select(Need.title).where(Need.need_id == params["need_id"],
                                                          visibility.need_clause(viewer, row.event_id)))
        capability = db.session.scalar(select(Capability.title).where(
            Capability.capability_id == params["capability_id"], visibility.capability_clause(viewer, row.event_id)))
        params.update(need=need or params["need_id"], capability=capability or params["capability_id"])
    if "item_id" in params:
        params.update(_library_titles(viewer, params))
    if "call_id" in params:  # calls are open to every logged-in member
        from ..models import ChallengeCall

        params["call"] = db.session.scalar(select(ChallengeCall.title).where(
            ChallengeCall.id == params["call_id"])) or f"#{params['call_id']}"
    if "band" in params:
        params["band"] = str(VOCABULARY.get(params["band"], params["band"]))
    if row.kind == "library_match" and "strength" not in params:
        return str(LEGACY_MATCH % params)  # notices written before strengths were stored
    return str(TEXTS[row.kind] % params)


def _library_titles(viewer, params):
    """Library item titles as far as the reader may see them (else the item number)."""
    from ..models import LibraryItem
    from .library import item_clause

    out = {}
    for key, name in (("item_id", "item"), ("other_id", "other")):
        if key in params:
            title = db.session.scalar(select(LibraryItem.title).where(LibraryItem.id == params[key],
                                                                      item_clause(viewer)))
            out[name] = title or f"#{params[key]}"
    return out
