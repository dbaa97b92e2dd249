"""Who may see what: the one place that decides visibility of events, records, pairs and contacts.

Every page, API endpoint, search, export, agenda and the roadshow programme reads
records through the clauses and filters here, so a rule changes in one place.

Rules (``CLASSIFICATIONS`` tiers, checked with :func:`matcher.clearance_allows`):

=============  ==========================  ==========================================  =========================
role           events                      needs / capabilities                        contact details
=============  ==========================  ==========================================  =========================
admin          all                         all                                         all
organiser      the events they organise    all of those events                         all of those events
enterprise     events where its org has    its own needs; capabilities its org's       own records; partners of
member         records                     *effective* clearance allows, and its own   accepted pairs
institute      same                        all needs; its own capabilities             same
member
analyst        all (read-only)             all needs; 公开 capabilities only            never
security       none                        none (verifies qualifications only)         never
(nobody)       none                        none                                        never
=============  ==========================  ==========================================  =========================

A suggestion, decision, meeting or request is visible when both of its records are.
An organisation's clearance is effective only while verified and unexpired, else 无.

Who is looking is always an argument: every function here takes the :class:`Viewer` first,
and nothing falls back to "sees everything". Views pass the request's viewer (``g.viewer``,
:func:`current_viewer`); background jobs and CLI commands pass :data:`SYSTEM` on purpose. A
request without a logged-in user is :data:`ANONYMOUS` and sees nothing (fail closed).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import bindparam, false, select, true, union

from matcher import CLASSIFICATIONS, clearance_allows

from .db import db
from .models import Capability, Decision, Need, Organisation, OrganiserEvent

ROLES = ("organiser", "institute", "enterprise", "analyst", "security", "admin")
MEMBER_ROLES = ("institute", "enterprise")


@dataclass(frozen=True)
class Viewer:
    """The person (or process) a response is built for."""

    role: str
    user_id: int | None = None
    username: str = ""
    org: str = ""
    clearance: str = "无"
    event_ids: frozenset = field(default_factory=frozenset)

    @property
    def everything(self):
        return self.role in ("system", "admin")

    @property
    def cache_key(self):
        """Part of the page-cache key: two viewers with equal keys see identical pages."""
        if self.everything:
            return ("all",)
        return (self.role, self.user_id, self.org, self.clearance)


SYSTEM = Viewer("system")
ANONYMOUS = Viewer("anonymous")


def effective_clearance(organisation, today=None):
    """The qualification that counts: the declared one while verified and unexpired, else 无."""
    if organisation is None or organisation.verified_at is None:
        return "无"
    today = today or dt.date.today()
    if organisation.expires_on is None or organisation.expires_on < today:
        return "无"
    return organisation.clearance


def verified_clearances(names, today=None):
    """Effective qualification of each organisation name: its verified, unexpired one, else 无.

    Matching uses this instead of the 保密资质 column of an uploaded spreadsheet, so a
    capability is suggested only on a qualification an organiser has verified.
    """
    wanted = {str(n) for n in names}
    rows = {o.name: o for o in db.session.scalars(select(Organisation).where(Organisation.name.in_(wanted)))}
    return [effective_clearance(rows.get(str(n)), today) for n in names]


_ORGANISATION = select(Organisation.name, Organisation.clearance, Organisation.verified_at,
                       Organisation.expires_on).where(Organisation.id == bindparam("org_id"))
_ORGANISED = select(OrganiserEvent.event_id).where(OrganiserEvent.user_id == bindparam("user_id"))


def viewer_for(user):
    """Build the :class:`Viewer` of a ``User`` row (org, effective clearance, organised events)."""
    if user is None or not user.active:
        return ANONYMOUS
    # Runs before every request: prepared Core statements on the session's connection, only the
    # columns needed, and the organised events only for organisers.
    connection = db.session.connection()
    org = connection.execute(_ORGANISATION, {"org_id": user.org_id}).first() if user.org_id else None
    events = frozenset(connection.execute(_ORGANISED, {"user_id": user.id}).scalars()) \
        if user.role == "organiser" else frozenset()
    clearance = effective_clearance(org) if user.role == "enterprise" else "无"
    return Viewer(user.role, user.id, user.username, org.name if org else "", clearance, events)


def current_viewer():
    """The viewer of the current request (set by :mod:`webapp.access`); only views and templates call this.

    Raises
    ------
    RuntimeError
        Outside a request: a job or command must pass :data:`SYSTEM` (or another viewer) explicitly.
    """
    if not has_request_context():
        raise RuntimeError("no request: pass the viewer explicitly (webapp.visibility.SYSTEM for jobs and commands)")
    return g.get("viewer") or ANONYMOUS


def allowed_tiers(clearance):
    """Capability tiers a qualification may see, by the core engine's rule."""
    return [tier for tier in CLASSIFICATIONS if clearance_allows(clearance, tier)]


def is_organiser(viewer, event_id):
    """Whether the viewer runs this event (admins and the system run every event)."""
    return viewer.everything or (viewer.role == "organiser" and event_id in viewer.event_ids)


def event_clause(viewer, column):
    """SQL condition on an event id ``column`` for the events the viewer may open."""
    if viewer.everything or viewer.role == "analyst":
        return true()
    if viewer.role == "organiser":
        return column.in_(viewer.event_ids)
    if viewer.role in MEMBER_ROLES and viewer.org:
        participating = union(select(Need.event_id).where(Need.org == viewer.org),
                              select(Capability.event_id).where(Capability.org == viewer.org))
        return column.in_(participating.scalar_subquery())
    return false()


def can_see_event(viewer, event_id):
    from .models import Event

    return db.session.scalar(select(Event.id).where(Event.id == event_id, event_clause(viewer, Event.id))) is not None


def need_clause(viewer, event_id):
    """SQL condition selecting the needs of ``event_id`` the viewer may see."""
    scope = Need.event_id == event_id
    if is_organiser(viewer, event_id) or viewer.role in ("institute", "analyst"):
        return scope
    if viewer.role == "enterprise" and viewer.org:
        return scope & (Need.org == viewer.org)
    return false()


def capability_clause(viewer, event_id):
    """SQL condition selecting the capabilities of ``event_id`` the viewer may see."""
    scope = Capability.event_id == event_id
    if is_organiser(viewer, event_id):
        return scope
    if viewer.role == "enterprise" and viewer.org:
        return scope & (Capability.classification.in_(allowed_tiers(viewer.clearance))
                        | (Capability.org == viewer.org))
    if viewer.role == "institute" and viewer.org:
        return scope & (Capability.org == viewer.org)
    if viewer.role == "analyst":
        return scope & (Capability.classification == "公开")
    return false()


def clause(viewer, model, event_id):
    """:func:`need_clause` or :func:`capability_clause` by model."""
    return (need_clause if model is Need else capability_clause)(viewer, event_id)


def visible_ids(viewer, event_id):
    """``(need ids, capability ids)`` the viewer may see in the event (memoised per request)."""
    memo = g.setdefault("visible_ids", {}) if has_request_context() else {}
    key = (event_id, viewer.cache_key)
    if key not in memo:
        needs = frozenset(db.session.scalars(select(Need.need_id).where(need_clause(viewer, event_id))))
        capabilities = frozenset(db.session.scalars(select(Capability.capability_id)
                                                    .where(capability_clause(viewer, event_id))))
        memo[key] = (needs, capabilities)
    return memo[key]


def pair_visible(viewer, event_id, need_id, capability_id):
    needs, capabilities = visible_ids(viewer, event_id)
    return need_id in needs and capability_id in capabilities


def filter_pairs(viewer, event_id, rows, need="need_id", capability="capability_id"):
    """The rows (objects or dicts with need and capability ids) whose both records are visible."""
    if viewer.everything:
        return list(rows)
    needs, capabilities = visible_ids(viewer, event_id)

    def get(row, name):
        return row.get(name) if isinstance(row, dict) else getattr(row, name)
    return [r for r in rows if get(r, need) in needs and get(r, capability) in capabilities]


def org_visible(viewer, event_id, org):
    """Whether an organisation-level row (e.g. an unscheduled participant) may be shown."""
    return is_organiser(viewer, event_id) or (bool(org) and org == viewer.org)


def own_ids(viewer, event_id):
    """``(need ids, capability ids)`` of the viewer's own organisation in the event."""
    if not viewer.org:
        return frozenset(), frozenset()
    return (frozenset(db.session.scalars(select(Need.need_id).where(Need.event_id == event_id,
                                                                     Need.org == viewer.org))),
            frozenset(db.session.scalars(select(Capability.capability_id).where(Capability.event_id == event_id,
                                                                                 Capability.org == viewer.org))))


@dataclass(frozen=True)
class ContactScope:
    """Whose contact details a viewer may see in one event: every record, or the listed ids."""

    everything: bool = False
    needs: frozenset = frozenset()
    capabilities: frozenset = frozenset()

    def allows(self, kind, record_id):
        return self.everything or record_id in (self.needs if kind == "need" else self.capabilities)


def contact_scope(viewer, event_id):
    """The viewer's :class:`ContactScope` in the event (memoised per request).

    Organisers see every contact; members their own records' and those of the partners of
    their accepted pairs; everyone else none.
    """
    memo = g.setdefault("contact_scope", {}) if has_request_context() else {}
    key = (event_id, viewer.cache_key)
    if key in memo:
        return memo[key]
    if is_organiser(viewer, event_id):
        scope = ContactScope(everything=True)
    elif viewer.role in MEMBER_ROLES and viewer.org:
        own_needs, own_capabilities = own_ids(viewer, event_id)
        accepted = db.session.execute(select(Decision.need_id, Decision.capability_id).where(
            Decision.event_id == event_id, Decision.status == "accepted")).all()
        scope = ContactScope(needs=own_needs | {n for n, c in accepted if c in own_capabilities},
                             capabilities=own_capabilities | {c for n, c in accepted if n in own_needs})
    else:
        scope = ContactScope()
    memo[key] = scope
    return scope


def contact(viewer, record):
    """The record's contact details when the viewer may see them, else ''."""
    if record is None:
        return ""
    kind, record_id = ("need", record.need_id) if isinstance(record, Need) else ("capability", record.capability_id)
    return record.contact if contact_scope(viewer, record.event_id).allows(kind, record_id) else ""
