"""The public catalogue (信息发布) over the library, its feed, and contact requests.

Everything reads through :func:`webapp.services.library.item_clause`, so an anonymous visitor
sees listed 公开 items only and a member what the library's rule allows. Contact details are
never part of a listing; they are released per item by :func:`webapp.services.library.may_see_contact`,
which an accepted :class:`ContactRequest` opens for the requesting organisation.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from werkzeug.exceptions import Conflict, Forbidden, NotFound

from matcher import DOMAINS

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import ContactRequest, LibraryItem
from . import market_search
from .library import COOPERATION, KINDS, is_owner, is_reviewer, item_clause, listed_clause

PAGE_SIZE = 20
SORTS = {"relevance": _l("相关度"), "new": _l("最新发布"), "title": _l("名称"), "trl": _l("技术成熟度")}
MAX_TERMS = 8


@dataclass(frozen=True)
class Query:
    """A catalogue search: free text and filters, as parsed from the request's arguments."""

    text: str = ""
    kind: str = ""
    domain: str = ""
    cooperation: str = ""
    region: str = ""
    trl_min: int | None = None
    since: dt.date | None = None
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_args(cls, args):
        """Parse request arguments; unknown filter values are an error naming the field."""
        problems = []

        def choice(name, allowed):
            value = args.get(name, "").strip()
            if value and value not in allowed:
                problems.append({"field": name, "value": value, "allowed": list(allowed),
                                 "message": str(_l("筛选条件 %(field)s 的取值无效。", field=name))})
                return ""
            return value
        trl, since, page = args.get("trl_min", "").strip(), args.get("since", "").strip(), args.get("page", "1")
        if trl and not (trl.isdigit() and 1 <= int(trl) <= 9):
            problems.append({"field": "trl_min", "value": trl, "message": str(_l("技术成熟度须为 1 到 9。"))})
            trl = ""
        try:
            since_day = dt.date.fromisoformat(since) if since else None
        except ValueError:
            problems.append({"field": "since", "value": since, "message": str(_l("日期格式须为 2026-01-31。"))})
            since_day = None
        query = cls(text=args.get("q", "").strip()[:200], kind=choice("kind", KINDS), domain=choice("domain", DOMAINS),
                    cooperation=choice("cooperation", COOPERATION), region=args.get("region", "").strip()[:100],
                    trl_min=int(trl) if trl else None, since=since_day, sort=choice("sort", SORTS) or "relevance",
                    page=max(1, min(int(page), 10_000)) if str(page).isdigit() else 1)
        if problems:
            raise ValidationFailed(str(_l("检索条件有误。")), problems)
        return query


def search(viewer, query):
    """Listed items the viewer may see that match the query: ``(items, total)`` for the query's page.

    Free text is matched by words (:mod:`webapp.services.market_search`, SQLite's FTS5 over
    jieba words) and ordered by relevance unless another sort is asked for; when no listed item
    has every word (a single character, part of a word), or on a database without the index,
    each whitespace-separated term is matched as typed (LIKE) instead.
    """
    statement, total, relevance = matching(viewer, query)
    sort = query.sort if query.sort != "relevance" or relevance is not None else "new"
    order = relevance if sort == "relevance" else ORDERS[sort]
    items = db.session.scalars(statement.order_by(*order).offset((query.page - 1) * PAGE_SIZE)
                               .limit(PAGE_SIZE)).all()
    return items, total


def matching(viewer, query):
    """The listed items the viewer may see that match the query's text and filters, unordered.

    Returns
    -------
    (Select, int, tuple or None)
        The statement, how many items it selects and the relevance order (None without word hits).
    """
    conditions = [item_clause(viewer), listed_clause(), *filter_conditions(query)]
    expression = market_search.match_expression(query.text) if query.text else None
    if expression is not None and market_search.supported(db.session.connection()):
        hits = market_search.hits(expression)
        statement = select(LibraryItem).join(hits, hits.c.item_id == LibraryItem.id).where(*conditions)
        total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
        if total:
            return statement, total, (hits.c.rank, LibraryItem.id.desc())
    statement = select(LibraryItem).where(*conditions, *_like_terms(query.text))
    return statement, db.session.scalar(select(func.count()).select_from(statement.subquery())), None


ORDERS = {"new": (LibraryItem.published_at.desc(), LibraryItem.id.desc()),
          "title": (LibraryItem.title, LibraryItem.id),
          "trl": (LibraryItem.trl.desc().nulls_last(), LibraryItem.id.desc())}


def filter_conditions(query):
    """SQL conditions of the query's filters (type, domain, cooperation, region, TRL, date), text aside."""
    conditions = []
    for column, value in ((LibraryItem.kind, query.kind), (LibraryItem.domain, query.domain),
                          (LibraryItem.cooperation, query.cooperation)):
        if value:
            conditions.append(column == value)
    if query.region:
        conditions.append(LibraryItem.region.like(f"%{_escape(query.region)}%", escape="\\"))
    if query.trl_min is not None:
        conditions.append(LibraryItem.trl >= query.trl_min)
    if query.since is not None:
        conditions.append(LibraryItem.published_at >= dt.datetime.combine(query.since, dt.time()))
    return conditions


def _like_terms(text):
    conditions = []
    for term in text.split()[:MAX_TERMS]:
        pattern = f"%{_escape(term)}%"
        conditions.append(or_(LibraryItem.title.like(pattern, escape="\\"),
                              LibraryItem.description.like(pattern, escape="\\"),
                              LibraryItem.keywords.like(pattern, escape="\\"),
                              LibraryItem.org.like(pattern, escape="\\")))
    return conditions


def listed_item(viewer, item_id):
    """A listed item the viewer may see, or 404 (the same for drafts, withdrawn, classified and missing ids)."""
    item = db.session.scalar(select(LibraryItem).where(LibraryItem.id == item_id, item_clause(viewer),
                                                       listed_clause()))
    if item is None:
        raise NotFound()
    return item


def newest(viewer, *, limit=50):
    """The newest listed items the viewer may see (for the feed)."""
    return db.session.scalars(select(LibraryItem).where(item_clause(viewer), listed_clause()).order_by(
        LibraryItem.published_at.desc(), LibraryItem.id.desc()).limit(limit)).all()


def feed(viewer, *, base_url, title):
    """Atom feed (bytes) of the newest listed items the viewer may see; no contact details."""
    from feedgen.feed import FeedGenerator

    generator = FeedGenerator()
    generator.id(base_url + "market")
    generator.title(title)
    generator.link(href=base_url + "market", rel="alternate")
    generator.link(href=base_url + "market/feed.atom", rel="self")
    generator.language("zh-CN")
    items = newest(viewer)
    generator.updated(_utc(items[0].published_at) if items else dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    for item in reversed(items):  # feedgen prepends: add oldest first so the newest is the first entry
        entry = generator.add_entry()
        entry.id(f"{base_url}market/{item.id}")
        entry.title(f"[{KINDS[item.kind]}] {item.title}")
        entry.link(href=f"{base_url}market/{item.id}")
        entry.author({"name": item.org})
        entry.summary(item.description[:500])
        entry.published(_utc(item.published_at))
        entry.updated(_utc(item.updated_at))
    return generator.atom_str(pretty=True)


def _utc(moment):
    return moment.replace(tzinfo=dt.UTC)


def _escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def request_contact(viewer, item, message=""):
    """An institute or enterprise member asks for a listed item's contact; the owner is notified."""
    from . import inbox

    if viewer.role not in visibility.MEMBER_ROLES or not viewer.org:
        raise Forbidden(str(_l("只有参会单位成员可以申请联系方式。")))
    if is_owner(viewer, item) or item.status not in ("published", "matched"):
        raise Conflict(str(_l("这条信息不能申请联系方式。")))
    existing = db.session.scalar(select(ContactRequest).where(
        ContactRequest.item_id == item.id, ContactRequest.requester_org == viewer.org,
        ContactRequest.status.in_(("pending", "accepted"))))
    if existing is not None:
        raise Conflict(str(_l("贵单位已申请过这条信息的联系方式。")))
    request = ContactRequest(item_id=item.id, requester_org=viewer.org, requester_user_id=viewer.user_id,
                             message=(message or "").strip()[:1000])
    db.session.add(request)
    inbox.notify("contact_request", org=item.org, link=f"/library/{item.id}", item_id=item.id,
                 requester=viewer.org)
    db.session.commit()
    return request


def requests_for(viewer, item):
    """Contact requests of an item: all of them for its owners and reviewers, else the viewer's own."""
    query = select(ContactRequest).where(ContactRequest.item_id == item.id).order_by(ContactRequest.id)
    if not (is_owner(viewer, item) or is_reviewer(viewer)):
        if not viewer.org:
            return []
        query = query.where(ContactRequest.requester_org == viewer.org)
    return db.session.scalars(query).all()


def decide_contact(viewer, request_id, *, accept):
    """The item's owner accepts (contact released to the requesting organisation) or declines."""
    from . import inbox

    request = db.session.get(ContactRequest, request_id)
    item = db.session.get(LibraryItem, request.item_id) if request is not None else None
    if item is None or not is_owner(viewer, item):
        raise NotFound()
    if request.status != "pending":
        raise Conflict(str(_l("这条申请已处理。")))
    request.status = "accepted" if accept else "declined"
    request.decided_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    inbox.notify("contact_accepted" if accept else "contact_declined", org=request.requester_org,
                 link=f"/market/{item.id}", item_id=item.id)
    db.session.commit()
    return request
