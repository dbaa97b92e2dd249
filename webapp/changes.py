"""One way to change an event: every write to its records bumps ``Event.data_version``, in the same transaction.

Pages are cached per event version (:mod:`webapp.cache`), so a write that forgot to bump the
version would serve stale pages. Nothing bumps it by hand: two SQLAlchemy session hooks do,
for every write path at once.

* Unit-of-work changes (``session.add``, attribute changes, ``session.delete``) of any row with an
  ``event_id`` (needs, capabilities, decisions, jobs, meetings, …), of an event itself, and of an
  organisation's qualification, profile or tiers (which change what the pages of its events show) are seen in
  ``before_flush``; an organisation's events are those it has records in and those it is invited to.
* Bulk statements (``session.execute(insert(Suggestion), rows)``, ``delete(Meeting).where(…)``) on
  a table with an ``event_id`` column must name their event with
  ``.execution_options(event_id=…)``; one that does not is refused, so a new bulk write cannot
  forget.

The bump is one ``UPDATE events SET data_version = data_version + 1`` on the flush's own
connection: atomic under concurrency, committed or rolled back with the change.

The standing library lives outside events and has its own counter, ``library_version``: a
write to a library item that changes what the per-process indexes hold (status, text, 密级,
owner, version, expiry) and a new or removed entry of the organisation history bump it and
record what changed in ``library_changes`` (the item, or None for the history), and each web
process brings its in-memory indexes up to date with just those changes when the counter moved
(:mod:`webapp.services.library_matching`). The same hook keeps the catalogue's word index
(:mod:`webapp.services.market_search`) in step, after the flush, in the same transaction.
"""
from __future__ import annotations

from itertools import chain

from flask_sqlalchemy.session import Session
from sqlalchemy import event, inspect, select, union, update

from .models import (
    Capability,
    Event,
    Invitation,
    LibraryChange,
    LibraryItem,
    LibraryVersion,
    Need,
    Organisation,
    OrgHistory,
    OrgProfile,
    OrgTier,
)

#: Library item fields the indexes depend on (matching, near-duplicates, catalogue words).
LIBRARY_FIELDS = ("status", "title", "description", "keywords", "classification", "org", "kind", "version",
                  "expires_on")


def bump(session, event_ids):
    """Bump the data version of ``event_ids`` within the session's transaction."""
    ids = sorted({int(i) for i in event_ids if i is not None})
    if ids:
        table = Event.__table__
        session.connection().execute(update(table).where(table.c.id.in_(ids))
                                     .values(data_version=table.c.data_version + 1))


@event.listens_for(Session, "before_flush")
def _unit_of_work(session, _flush_context, _instances):
    touched, organisations, profile_orgs = set(), set(), set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Event):
            if obj not in session.new and obj not in session.deleted and session.is_modified(obj):
                touched.add(obj.id)
        elif isinstance(obj, Organisation):
            organisations.add(obj.name)
        elif isinstance(obj, (OrgProfile, OrgTier)):
            # Tiers and institute types show on the dashboards (reports) of every event the organisation takes part in.
            profile_orgs.add(obj.org_id)
        elif getattr(obj, "event_id", None) is not None:
            touched.add(obj.event_id)
    if profile_orgs:
        organisations.update(session.connection().execute(
            select(Organisation.name).where(Organisation.id.in_(profile_orgs))).scalars())
    if organisations:
        # Events it takes part in, and those it is invited to (their reports count invited enterprises by tier).
        taking_part = union(select(Need.event_id).where(Need.org.in_(organisations)),
                            select(Capability.event_id).where(Capability.org.in_(organisations)),
                            select(Invitation.event_id).join(Organisation, Organisation.id == Invitation.org_id)
                            .where(Organisation.name.in_(organisations)))
        touched.update(session.connection().execute(taking_part).scalars())
    bump(session, touched)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state):
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = state.statement.table
    if "event_id" not in table.c or table.name == "events":
        return
    event_id = state.execution_options.get("event_id")
    if event_id is None:
        raise RuntimeError(f"a bulk write to {table.name} must name its event with .execution_options(event_id=...) "
                           f"so that the event's cached pages are invalidated")
    bump(state.session, [event_id])


def bump_library(session):
    """Bump the library version within the session's transaction (its row lock orders concurrent writers)."""
    table = LibraryVersion.__table__
    session.connection().execute(update(table).where(table.c.id == 1).values(version=table.c.version + 1))


def library_version(session):
    """The library version as committed (or as this transaction sees it)."""
    return session.connection().execute(select(LibraryVersion.__table__.c.version).where(
        LibraryVersion.__table__.c.id == 1)).scalar() or 0


def library_changes(session, since):
    """``(item ids, history changed)`` written after version ``since``, as this transaction sees them."""
    rows = session.connection().execute(select(LibraryChange.__table__.c.item_id).where(
        LibraryChange.__table__.c.version > since)).scalars().all()
    return {i for i in rows if i is not None}, any(i is None for i in rows)


@event.listens_for(Session, "before_flush")
def _library_writes(session, _flush_context, _instances):
    touched, moved, history = [], [], False
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, LibraryItem):
            if obj in session.deleted:
                touched.append(obj.id)
                moved.append(obj.id)
            elif obj in session.new:
                touched.append(obj)
                if obj.status != "draft":
                    moved.append(obj)
            elif _changed(obj, LIBRARY_FIELDS):
                touched.append(obj)
                if obj.status != "draft" or _changed(obj, ("status",)):
                    moved.append(obj)
        elif isinstance(obj, OrgHistory) and (obj in session.new or obj in session.deleted):
            history = True
    if moved or history:
        bump_library(session)
        session.info.setdefault("library_moved", []).extend(moved + ([None] if history else []))
    if touched:
        session.info.setdefault("library_search", []).extend(touched)


@event.listens_for(Session, "after_flush")
def _library_after_flush(session, _flush_context):
    from .services import market_search

    moved = session.info.pop("library_moved", None)
    if moved:
        version = library_version(session)
        ids = sorted({item if item is None or isinstance(item, int) else item.id for item in moved},
                     key=lambda i: -1 if i is None else i)
        session.connection().execute(LibraryChange.__table__.insert(),
                                     [{"version": version, "item_id": item_id} for item_id in ids])
    items = session.info.pop("library_search", None)
    if items:
        market_search.sync(session.connection(), items)


@event.listens_for(Session, "after_soft_rollback")
def _forget_library_writes(session, _previous_transaction):
    session.info.pop("library_search", None)
    session.info.pop("library_moved", None)


def _changed(obj, fields):
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)
