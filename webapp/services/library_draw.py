"""Drawing library items into an event: the organiser's page (filters, each item's best match in the event's
pool by calibrated strength) and the draw itself (records ``L<item id>``).

The page reads the catalogue's query (:mod:`webapp.services.market`: words and filters) over the listed
items, and measures each item against the event's current records of the other side with the library's
strength statistics (:mod:`webapp.services.library_matching`), under the library's rule: other
organisation, each side may see the other's tier, and organisations that already met are no partners.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from matcher import CLASSIFICATIONS
from matcher.strength import strength_band

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import LibraryItem
from .library import listed_clause
from .library_matching import _LOCK, current_index, encode, item_texts, met_pairs, org_levels

#: Orders of the draw-into-event page; by match strength by default.
DRAW_SORTS = {"strength": _l("匹配强度"), "new": _l("最新发布"), "title": _l("名称"), "trl": _l("技术成熟度")}
#: Items scored on the draw page at most (the newest of those matching the filters).
DRAW_LIMIT = 500


def draw_candidates(viewer, event_id, query, *, sort="strength"):
    """Listed items an organiser may draw into an event, filtered, each with its best match in the event's pool.

    Parameters
    ----------
    query : webapp.services.market.Query
        Text (words, as in the catalogue) and filters: type, domain, cooperation, region, minimum TRL, date.
    sort : {"strength", "new", "title", "trl"}

    Returns
    -------
    (list of dict, int)
        Rows ``item``, ``match`` (``strength``, ``band``, ``record_id``, ``record_title`` of the best
        allowed partner among the event's current records of the other side, or None) and ``drawn``
        (already in the event); and how many items match (rows hold the newest ``DRAW_LIMIT``).
    """
    from .market import ORDERS, matching

    if not visibility.is_organiser(viewer, event_id):
        raise Forbidden()
    if sort not in DRAW_SORTS:
        raise ValidationFailed(str(_l("排序方式无效。")), [{"field": "sort", "value": sort, "allowed": list(DRAW_SORTS)}])
    statement, total, _relevance = matching(viewer, query)
    items = db.session.scalars(statement.order_by(*ORDERS["new"]).limit(DRAW_LIMIT)).all()
    matches = event_pool_strengths(event_id, items)
    drawn = _drawn_ids(event_id)
    rows = [{"item": item, "match": matches.get(item.id), "drawn": item.id in drawn} for item in items]
    if sort != "new":
        keys = {"strength": lambda row: -(row["match"]["strength"] if row["match"] else -1.0),
                "title": lambda row: row["item"].title,
                "trl": lambda row: -(row["item"].trl or 0)}
        rows.sort(key=keys[sort])  # stable: ties keep the newest first
    return rows, total


def _drawn_ids(event_id):
    from ..models import Capability, Need

    ids = set()
    for model, column in ((Need, Need.need_id), (Capability, Capability.capability_id)):
        for record_id in db.session.scalars(select(column).where(model.event_id == event_id, column.like("L%"))):
            if record_id[1:].isdigit():
                ids.add(int(record_id[1:]))
    return ids


def draw_into_event(viewer, event_id, item_ids):
    """An organiser takes listed library items into an event's pool (records ``L<item id>``; re-drawing updates).

    The event keeps its own copy (so its ranking, pairs and agendas work as for imported records);
    :func:`webapp.services.library.record_outcome` carries what happens at the event back to the items.

    Returns
    -------
    (int, int)
        Records created and updated.
    """
    from matcher import infer_domains

    from ..models import Capability, Event, Need

    if not visibility.is_organiser(viewer, event_id):
        raise Forbidden()
    ids = [int(i) for i in item_ids if str(i).isdigit()]
    items = db.session.scalars(select(LibraryItem).where(LibraryItem.id.in_(ids), listed_clause())
                               .order_by(LibraryItem.id)).all()
    if not items:
        raise ValidationFailed(str(_l("请选择至少一条已发布的信息。")), [{"field": "item_ids"}])
    created = updated = 0
    for item in items:
        model, id_column = (Need, "need_id") if item.kind == "need" else (Capability, "capability_id")
        values = {"org": item.org, "title": item.title, "description": item.description, "keywords": item.keywords,
                  "region": item.region, "contact": item.contact, "trl": item.trl, "cooperation": item.cooperation,
                  "domain": item.domain or infer_domains([f"{item.title} {item.description}"])[0],
                  "domain_inferred": not item.domain}
        if item.kind == "capability":
            values["classification"] = item.classification
        record = db.session.scalar(select(model).where(model.event_id == event_id,
                                                       getattr(model, id_column) == f"L{item.id}"))
        if record is None:
            db.session.add(model(event_id=event_id, **{id_column: f"L{item.id}"}, **values))
            created += 1
        else:
            updated += any(getattr(record, name) != value for name, value in values.items())
            for name, value in values.items():
                setattr(record, name, value)
    if created or updated:
        db.session.get(Event, event_id).records_version += 1
    db.session.commit()
    return created, updated


@dataclass
class _Record:
    """An event record seen as a library item (for encoding and strengths)."""

    kind: str
    title: str
    description: str
    keywords: str


def event_pool_strengths(event_id, items):
    """Each library item's best match in an event's current pool (the other side's records), by calibrated strength.

    A pair counts when the library's rule allows it (other organisation, tiers both ways) and its
    organisations have not met at an event. Strengths are measured against the library's
    capability statistics, as for stored matches.

    Returns
    -------
    dict
        Item id → ``{"strength", "band", "record_id", "record_title"}``; items without an allowed
        partner in the pool are absent.
    """
    from ..models import Capability, Need

    pool = {"need": db.session.scalars(select(Need).where(Need.event_id == event_id).order_by(Need.id)).all(),
            "capability": db.session.scalars(select(Capability).where(Capability.event_id == event_id)
                                             .order_by(Capability.id)).all()}
    history = met_pairs()
    out = {}
    for kind, other_kind in (("need", "capability"), ("capability", "need")):
        chosen, records = [item for item in items if item.kind == kind], pool[other_kind]
        if not chosen or not records:
            continue
        record_vectors = encode([_Record(other_kind, r.title, r.description, r.keywords) for r in records])
        with _LOCK:
            index = current_index()
            side = index.matches.sides[kind]
            known = [item.id in side.position and side.active[side.position[item.id]] for item in chosen]
            item_vectors = (np.stack([side.vectors[side.position[item.id]] for item in chosen]) if all(known)
                            else encode(chosen))
            needs, capabilities = (chosen, records) if kind == "need" else (records, chosen)
            need_vectors, capability_vectors = ((item_vectors, record_vectors) if kind == "need"
                                                else (record_vectors, item_vectors))
            strengths = index.strength.strengths(
                item_texts(needs), need_vectors, org_levels([n.org for n in needs]), item_texts(capabilities),
                capability_vectors)
        allowed = _pool_rule(needs, capabilities, history)
        strengths = np.where(allowed, strengths, -1.0)
        for position, item in enumerate(chosen):
            column = strengths[position] if kind == "need" else strengths[:, position]
            best = int(np.argmax(column))
            if column[best] >= 0:
                record = records[best]
                out[item.id] = {"strength": float(column[best]), "band": str(strength_band(column[best])),
                                "record_id": record.need_id if other_kind == "need" else record.capability_id,
                                "record_title": record.title}
    return out


def _pool_rule(needs, capabilities, history):
    """(n_needs, n_capabilities) mask: other organisation, each side may see the other's tier, never met."""
    need_levels = np.asarray(org_levels([n.org for n in needs]))
    capability_levels = np.asarray(org_levels([c.org for c in capabilities]))
    need_tiers = np.asarray([CLASSIFICATIONS.get(getattr(n, "classification", "") or "公开", 0) for n in needs])
    capability_tiers = np.asarray([CLASSIFICATIONS.get(c.classification or "公开", 0) for c in capabilities])
    need_orgs, capability_orgs = np.asarray([n.org for n in needs]), np.asarray([c.org for c in capabilities])
    allowed = ((capability_tiers[None, :] <= need_levels[:, None]) & (need_tiers[:, None] <= capability_levels[None, :])
               & (need_orgs[:, None] != capability_orgs[None, :]))
    present_needs, present_capabilities = set(need_orgs), set(capability_orgs)
    for need_org, capability_org in history:
        if need_org in present_needs and capability_org in present_capabilities:
            allowed[np.ix_(need_orgs == need_org, capability_orgs == capability_org)] = False
    return allowed
