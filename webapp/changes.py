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
"""
from __future__ import annotations

from itertools import chain

from flask_sqlalchemy.session import Session
from sqlalchemy import event, select, union, update

from .models import Capability, Event, Invitation, Need, Organisation, OrgProfile, OrgTier


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
