"""The standing library of needs (需求库) and achievements (成果库): lifecycle, review, history, duplicates.

Lifecycle of an item (``STATUSES``)::

    draft ──submit──▶ pending ──publish──▶ published ──▶ matched ──▶ dealt
      ▲                  │                    │  ▲          │
      └────return────────┘                    ▼  │renew     ▼
                                      withdrawn / expired

Owners (members of the item's organisation) create, edit, submit, withdraw, renew and mark
items; reviewers of the bureau (organisers, security officers, administrators) publish with
the 密级 they set or confirm, or return an item with a comment. Every change stores a
revision with every field, so nothing submitted is lost when a review returns it.

Who may see an item is decided by :func:`item_clause` (one rule for every surface).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select, true
from werkzeug.exceptions import Forbidden, NotFound

from matcher import CLASSIFICATIONS, DOMAINS

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import ContactRequest, LibraryItem, LibraryRevision

KINDS = {"need": _l("需求"), "capability": _l("成果")}
STATUSES = {"draft": _l("草稿"), "pending": _l("待审核"), "published": _l("已发布"), "matched": _l("已对接"),
            "dealt": _l("已成交"), "withdrawn": _l("已下架"), "expired": _l("已过期")}
#: Statuses shown to others (catalogue, search, feed, suggestions) while unexpired.
LISTED = ("published", "matched")
COOPERATION = ("技术开发", "技术转让", "技术许可", "技术咨询", "技术服务", "合作开发", "其他")
#: Fields an owner edits in the form (contact is shown only to the owner, reviewers and accepted requesters).
FIELDS = ("title", "description", "domain", "keywords", "region", "trl", "cooperation", "ip_status", "price",
          "contact", "expires_on")
REVIEWER_ROLES = ("organiser", "security", "admin", "system")
MAX_VALIDITY_DAYS = 366
DEFAULT_VALIDITY_DAYS = 180
DUPLICATE_THRESHOLD = 0.8
LIMITS = {"title": 500, "description": 20000, "keywords": 500, "region": 100, "ip_status": 500, "price": 100,
          "contact": 200}


def is_reviewer(viewer):
    """Bureau staff who review and publish library items."""
    return viewer.role in REVIEWER_ROLES


def today():
    return dt.date.today()


def listed_clause(day=None):
    """SQL condition: the item is on public surfaces (listed status and not past its expiry date)."""
    day = day or today()
    return LibraryItem.status.in_(LISTED) & (LibraryItem.expires_on.is_(None) | (LibraryItem.expires_on >= day))


def item_clause(viewer, day=None):
    """SQL condition selecting the library items ``viewer`` may see.

    Reviewers see every item but others' drafts; members their own organisation's items and
    listed items whose 密级 their verified qualification allows; analysts and anonymous
    visitors listed 公开 items only.
    """
    listed = listed_clause(day)
    if viewer.everything:
        return true()
    if is_reviewer(viewer):
        return LibraryItem.status != "draft"
    tiers = visibility.allowed_tiers(viewer.clearance) if viewer.role == "enterprise" else ["公开"]
    shown = listed & LibraryItem.classification.in_(tiers)
    if viewer.role in visibility.MEMBER_ROLES and viewer.org:
        return or_(LibraryItem.org == viewer.org, shown)
    if viewer.role in ("analyst", "anonymous"):
        return shown
    return false()


def get_item(viewer, item_id):
    """The item or 404 (the same for invisible and missing ids)."""
    item = db.session.scalar(select(LibraryItem).where(LibraryItem.id == item_id, item_clause(viewer)))
    if item is None:
        raise NotFound()
    return item


def visible_item(viewer, item_id):
    """The item when the viewer may see it, else None."""
    return db.session.scalar(select(LibraryItem).where(LibraryItem.id == item_id, item_clause(viewer)))


def is_owner(viewer, item):
    return viewer.role in visibility.MEMBER_ROLES and bool(viewer.org) and item.org == viewer.org


def may_see_contact(viewer, item):
    """Owners, reviewers and organisations whose contact request the owner accepted."""
    if is_owner(viewer, item) or is_reviewer(viewer) or viewer.everything:
        return True
    if viewer.role not in visibility.MEMBER_ROLES or not viewer.org:
        return False
    return db.session.scalar(select(ContactRequest.id).where(
        ContactRequest.item_id == item.id, ContactRequest.requester_org == viewer.org,
        ContactRequest.status == "accepted")) is not None


def _clean(form):
    """Validated field values from a form or JSON mapping; raises ValidationFailed naming each bad field."""
    values, problems = {}, []
    for name in FIELDS:
        raw = form.get(name)
        values[name] = "" if raw is None else str(raw).strip()
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            problems.append({"field": name, "value": values[name][:40], "message": str(
                _l("%(field)s 过长（最多 %(n)s 字）。", field=name, n=limit))})
    if not values["title"]:
        problems.append({"field": "title", "message": str(_l("名称不能为空。"))})
    if values["domain"] and values["domain"] not in DOMAINS:
        problems.append({"field": "domain", "value": values["domain"], "allowed": list(DOMAINS),
                         "message": str(_l("所属领域须为：%(allowed)s。", allowed="、".join(DOMAINS)))})
    if values["cooperation"] and values["cooperation"] not in COOPERATION:
        problems.append({"field": "cooperation", "value": values["cooperation"], "allowed": list(COOPERATION),
                         "message": str(_l("合作方式须为：%(allowed)s。", allowed="、".join(COOPERATION)))})
    trl = values["trl"]
    values["trl"] = None
    if trl:
        if trl.isdigit() and 1 <= int(trl) <= 9:
            values["trl"] = int(trl)
        else:
            problems.append({"field": "trl", "value": trl, "allowed": "1–9",
                             "message": str(_l("技术成熟度须为 1 到 9 的整数。"))})
    values["expires_on"] = _expiry(values["expires_on"], problems)
    if problems:
        raise ValidationFailed(str(_l("表单有 %(n)s 处错误，请修改后重新保存。", n=len(problems))), problems)
    return values


def _expiry(text, problems):
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        problems.append({"field": "expires_on", "value": text, "message": str(_l("有效期须为日期，如 2027-06-30。"))})
        return None
    if not today() < day <= today() + dt.timedelta(days=MAX_VALIDITY_DAYS):
        problems.append({"field": "expires_on", "value": text, "message": str(
            _l("有效期须在今天之后、一年之内。"))})
    return day


def _snapshot(item):
    fields = {name: getattr(item, name) for name in FIELDS + ("classification", "status")}
    fields["expires_on"] = item.expires_on.isoformat() if item.expires_on else None
    return fields


def _record(viewer, item, action, comment=""):
    db.session.add(LibraryRevision(item_id=item.id, version=item.version, action=action, username=viewer.username,
                                   comment=comment, fields=_snapshot(item)))


def history(viewer, item):
    """The item's revisions, oldest first (owners and reviewers only: they may show contact details)."""
    if not (is_owner(viewer, item) or is_reviewer(viewer)):
        raise Forbidden()
    return db.session.scalars(select(LibraryRevision).where(LibraryRevision.item_id == item.id)
                              .order_by(LibraryRevision.id)).all()


def create(viewer, kind, form, *, org=None, source_event_id=None):
    """A new draft owned by the viewer's organisation (or ``org`` when a reviewer imports for it)."""
    if kind not in KINDS:
        raise ValidationFailed(str(_l("类型须为需求或成果。")), [{"field": "kind", "value": kind,
                                                              "allowed": list(KINDS)}])
    if is_reviewer(viewer) and org:
        owner = org
    elif viewer.role in visibility.MEMBER_ROLES and viewer.org:
        owner = viewer.org
    else:
        raise Forbidden(str(_l("只有参会单位成员可以发布自己单位的需求或成果。")))
    values = _clean(form)
    item = LibraryItem(kind=kind, org=owner, status="draft", created_by=viewer.user_id,
                       source_event_id=source_event_id, **values)
    db.session.add(item)
    db.session.flush()
    _record(viewer, item, "create")
    db.session.commit()
    return item


def update(viewer, item, form):
    """Edit an own item; a listed or pending item goes back to draft (changed text needs a new review)."""
    _require_owner(viewer, item)
    if item.status in ("withdrawn", "expired", "dealt"):
        raise _conflict(item)
    values = _clean(form)
    was_listed = item.status in LISTED
    for name, value in values.items():
        setattr(item, name, value)
    item.status, item.version = "draft", item.version + 1
    _record(viewer, item, "edit")
    db.session.commit()
    if was_listed:
        from . import library_matching

        library_matching.withdraw(item)
    return item


def submit(viewer, item, *, declared, accept_duplicates=False):
    """Send a draft to review. The submitter must declare 本条信息不含涉密内容.

    Near-duplicates (same kind, any organisation) stop the first submission and are returned
    so the form can link them; ``accept_duplicates`` submits anyway and notes the duplicate
    for the reviewer.

    Returns
    -------
    list of dict
        The duplicates found (``item`` when the submitter may see it, else None, and ``similarity``).
    """
    _require_owner(viewer, item)
    if item.status != "draft":
        raise _conflict(item)
    if not declared:
        raise ValidationFailed(str(_l("提交审核前须声明：本条信息不含涉密内容。")), [{"field": "declared"}])
    duplicates = find_duplicates(viewer, item)
    if duplicates and not accept_duplicates:
        return duplicates
    item.declared_unclassified = True
    item.duplicate_of = duplicates[0]["id"] if duplicates else None
    item.status = "pending"
    _record(viewer, item, "submit")
    db.session.commit()
    return duplicates


def review(viewer, item, *, action, classification="", comment=""):
    """A reviewer publishes a pending item with its 密级, or returns it to the owner with a comment."""
    if not is_reviewer(viewer):
        raise Forbidden(str(_l("审核库内信息需要组织方或保密审查员权限。")))
    if item.status != "pending":
        raise _conflict(item)
    comment = (comment or "").strip()
    if action == "return":
        if not comment:
            raise ValidationFailed(str(_l("退回时须填写意见。")), [{"field": "comment"}])
        item.status, item.review_comment, item.reviewed_by = "draft", comment, viewer.username
        _record(viewer, item, "return", comment)
        db.session.commit()
        return item
    if action != "publish":
        raise ValidationFailed(str(_l("审核操作须为发布或退回。")), [{"field": "action", "value": action}])
    if classification not in CLASSIFICATIONS:
        raise ValidationFailed(str(_l("发布前须设定密级：%(allowed)s。", allowed="、".join(CLASSIFICATIONS))),
                               [{"field": "classification", "value": classification,
                                 "allowed": list(CLASSIFICATIONS)}])
    item.classification, item.review_comment, item.reviewed_by = classification, comment, viewer.username
    item.status, item.published_at = "published", dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if item.expires_on is None or item.expires_on <= today():
        item.expires_on = today() + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    _record(viewer, item, "publish", comment)
    db.session.commit()
    from . import library_matching

    library_matching.publish(item)
    return item


def withdraw(viewer, item):
    """下架: the owner or a reviewer takes a pending or listed item off every surface at once."""
    if not (is_owner(viewer, item) or is_reviewer(viewer)):
        raise Forbidden()
    if item.status not in ("pending",) + LISTED:
        raise _conflict(item)
    was_listed = item.status in LISTED
    item.status = "withdrawn"
    _record(viewer, item, "withdraw")
    db.session.commit()
    if was_listed:
        from . import library_matching

        library_matching.withdraw(item)
    return item


def renew(viewer, item, until):
    """The owner extends a listed or expired item's validity (at most a year ahead); it is listed again."""
    _require_owner(viewer, item)
    if item.status not in LISTED + ("expired",):
        raise _conflict(item)
    problems = []
    day = _expiry(until, problems) if until else today() + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    if problems or day is None:
        raise ValidationFailed(problems[0]["message"] if problems else str(_l("请填写新的有效期。")), problems)
    relisted = item.status == "expired"
    item.expires_on = day
    if relisted:
        item.status = "published"
    _record(viewer, item, "renew")
    db.session.commit()
    if relisted:
        from . import library_matching

        library_matching.publish(item)
    return item


def mark(viewer, item, status):
    """The owner or a reviewer records progress: published → 已对接 (matched) → 已成交 (dealt)."""
    if not (is_owner(viewer, item) or is_reviewer(viewer)):
        raise Forbidden()
    allowed = {"matched": ("published",), "dealt": ("published", "matched")}
    if status not in allowed or item.status not in allowed[status]:
        raise _conflict(item)
    item.status = status
    _record(viewer, item, status)
    db.session.commit()
    if status not in LISTED:
        from . import library_matching

        library_matching.withdraw(item)
    return item


def expire_due(day=None):
    """Mark listed items past their expiry date 已过期 and remind owners of items expiring within 14 days.

    The visibility clause already hides an item the day after its expiry; this makes the status say so,
    takes it out of the matching index and writes the reminders (once per item and expiry date).

    Returns
    -------
    (int, int)
        Items expired and reminders written.
    """
    from . import inbox, library_matching

    day = day or today()
    system = visibility.SYSTEM
    expired = db.session.scalars(select(LibraryItem).where(LibraryItem.status.in_(LISTED),
                                                           LibraryItem.expires_on < day)).all()
    for item in expired:
        item.status = "expired"
        _record(system, item, "expire")
        inbox.notify("library_expired", org=item.org, link=f"/library/{item.id}", item_id=item.id)
    soon = db.session.scalars(select(LibraryItem).where(
        listed_clause(day), LibraryItem.expires_on <= day + dt.timedelta(days=14))).all()
    reminded = 0
    for item in soon:
        if not inbox.exists("library_expiring", org=item.org, item_id=item.id, until=item.expires_on.isoformat()):
            inbox.notify("library_expiring", org=item.org, link=f"/library/{item.id}", item_id=item.id,
                         until=item.expires_on.isoformat())
            reminded += 1
    db.session.commit()
    for item in expired:
        library_matching.withdraw(item)
    return len(expired), reminded


def find_duplicates(viewer, item, *, threshold=DUPLICATE_THRESHOLD, limit=5):
    """Near-duplicate items of the same kind (other than drafts), by character-bigram TF-IDF cosine.

    The cosine is the one a TF-IDF refitted on the library would give, read from the process's
    incremental index (:mod:`webapp.services.library_duplicates`).

    Returns
    -------
    list of dict
        ``id``, ``similarity`` and ``item`` (None when the viewer may not see it: its existence is
        then only reported, never its title or organisation).
    """
    from . import library_duplicates

    found = library_duplicates.similar(item, threshold=threshold, limit=limit)
    visible = set(db.session.scalars(select(LibraryItem.id).where(
        LibraryItem.id.in_([i for i, _ in found]), item_clause(viewer))))
    return [{"id": i, "similarity": s, "item": db.session.get(LibraryItem, i) if i in visible else None}
            for i, s in found]


def my_items(viewer):
    """The viewer's organisation's items, newest first."""
    if viewer.role not in visibility.MEMBER_ROLES or not viewer.org:
        return []
    return db.session.scalars(select(LibraryItem).where(LibraryItem.org == viewer.org)
                              .order_by(LibraryItem.updated_at.desc(), LibraryItem.id.desc())).all()


def organised_events(viewer):
    """Events the viewer runs (administrators: all), for drawing library items into them."""
    from ..models import Event

    if not (viewer.everything or viewer.role == "organiser"):
        return []
    query = select(Event).order_by(Event.id.desc())
    if not viewer.everything:
        query = query.where(Event.id.in_(viewer.event_ids))
    return db.session.scalars(query).all()


def review_queue(viewer):
    """Pending items for a reviewer, oldest first."""
    if not is_reviewer(viewer):
        raise Forbidden()
    return db.session.scalars(select(LibraryItem).where(LibraryItem.status == "pending")
                              .order_by(LibraryItem.id)).all()


def import_event(viewer, event_id):
    """Copy an event's records into the library as pending items (密级 preset from the sheet, for review).

    Records already copied from this event (same kind, organisation and title) are skipped.

    Returns
    -------
    int
        Items created.
    """
    from ..models import Capability, Need

    if not visibility.is_organiser(viewer, event_id):
        raise Forbidden()
    existing = set(db.session.execute(select(LibraryItem.kind, LibraryItem.org, LibraryItem.title).where(
        LibraryItem.source_event_id == event_id)).all())
    created = 0
    for kind, model in (("need", Need), ("capability", Capability)):
        for record in db.session.scalars(select(model).where(model.event_id == event_id)):
            if (kind, record.org, record.title) in existing:
                continue
            item = LibraryItem(kind=kind, org=record.org, title=record.title, description=record.description,
                               domain=record.domain, keywords=record.keywords, region=record.region, trl=record.trl,
                               cooperation=record.cooperation if record.cooperation in COOPERATION else "",
                               contact=record.contact, status="pending", declared_unclassified=True,
                               classification=getattr(record, "classification", "公开"),
                               created_by=viewer.user_id, source_event_id=event_id)
            db.session.add(item)
            db.session.flush()
            _record(viewer, item, "import")
            created += 1
    db.session.commit()
    return created


def record_outcome(event_id, need_id, capability_id, status):
    """Carry an event's result back to the library items a pair was drawn from (met → 已对接, signed → 已成交)."""
    from . import library_matching

    ids = [int(i[1:]) for i in (need_id, capability_id) if i and i.startswith("L") and i[1:].isdigit()]
    order = {"published": 0, "matched": 1, "dealt": 2}
    for item in db.session.scalars(select(LibraryItem).where(LibraryItem.id.in_(ids))).all():
        if item.status in order and order[status] > order[item.status]:
            item.status = status
            _record(visibility.SYSTEM, item, status, f"event {event_id}")
            if status not in LISTED:
                library_matching.withdraw(item)


def _require_owner(viewer, item):
    if not is_owner(viewer, item):
        raise Forbidden(str(_l("只有本单位成员可以修改这条信息。")))


def _conflict(item):
    from werkzeug.exceptions import Conflict

    return Conflict(str(_l("当前状态（%(status)s）下不能执行此操作。", status=STATUSES[item.status])))

