"""Database rows ↔ DataFrames: the records ``matcher`` expects and returns, and the organisation and deal
frames analysts read (:mod:`webapp.analysis`)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from ..db import db
from ..models import Capability, Need

#: Columns of ``matcher.load_needs`` / ``load_capabilities`` output shared by both kinds.
RECORD_COLUMNS = ["id", "org", "title", "description", "domain", "domain_inferred", "keywords", "region",
                  "contact", "trl", "cooperation"]
KINDS = {
    "need": (Need, "need_id", "clearance"),
    "capability": (Capability, "capability_id", "classification"),
}


def model_of(kind):
    """``(Model, id column, tier column)`` of ``"need"`` or ``"capability"``."""
    return KINDS[kind]


def records_frame(viewer, event_id, kind):
    """Records of one event as validated matcher records (what ``load_needs`` returns).

    Only records ``viewer`` may see, with contacts blanked where not allowed
    (:mod:`webapp.visibility`); background jobs and the CLI pass ``SYSTEM``.

    Returns
    -------
    pandas.DataFrame
        ``id, org, title, description, domain, domain_inferred, keywords, region,
        contact, trl, cooperation, clearance|classification, source_row``, ordered by id.
    """
    from .. import visibility

    model, id_column, tier = model_of(kind)
    rows = db.session.scalars(select(model).where(visibility.clause(viewer, model, event_id))
                              .order_by(getattr(model, id_column))).all()
    frame = pd.DataFrame({
        "id": [getattr(r, id_column) for r in rows],
        **{c: [getattr(r, c) for r in rows] for c in RECORD_COLUMNS[1:] if c not in ("trl", "contact")},
        "contact": [visibility.contact(viewer, r) for r in rows],
        "trl": pd.array([r.trl for r in rows], dtype="Int64"),
        tier: [getattr(r, tier) for r in rows],
        "source_row": [r.source_row for r in rows],
    })
    frame["domain_inferred"] = frame["domain_inferred"].astype(bool)
    return frame[RECORD_COLUMNS + [tier, "source_row"]]


def column_limit(kind, column):
    """Declared length of a ``String`` column of the ``kind`` table (``None`` for ``Text``)."""
    return getattr(model_of(kind)[0].__table__.c[column].type, "length", None)


def row_values(row, kind):
    """Column values of one validated record (a Series from matcher) for the ``kind`` table.

    Free-text fields are cut to their column's length: SQLite ignores ``VARCHAR(n)`` but
    PostgreSQL refuses longer values, which would fail the whole import there.
    """
    _, id_column, tier = model_of(kind)
    trl = row["trl"]
    values = {c: str(row[c])[:column_limit(kind, c)] for c in ("org", "title", "description", "domain", "keywords",
                                                              "region", "contact", "cooperation")}
    values.update({
        id_column: str(row["id"]), tier: str(row[tier]), "domain_inferred": bool(row["domain_inferred"]),
        "trl": None if pd.isna(trl) else int(trl), "source_row": int(row["source_row"]),
    })
    return values


def pairs_records(frame, columns):
    """Plain dicts of ``frame[columns]`` with numpy scalars turned into Python ones (for bulk inserts)."""
    out = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in out.to_dict("records")]


#: Columns of :func:`organisations_frame`, in order.
ORGANISATION_COLUMNS = ["org_id", "name", "kind", "credit_code", "industry_code", "industry_section", "town",
                        "rd_staff", "revenue_band", "main_products", "institute_type", "disciplines", "teams", "tiers"]
#: Columns of :func:`tiers_frame`, in order.
TIER_COLUMNS = ["org_id", "name", "tier", "number", "valid_from", "valid_until", "status", "in_force"]
#: Columns of :func:`deals_frame`, in order.
DEAL_COLUMNS = ["event_id", "deal_id", "need_id", "capability_id", "need_org", "capability_org", "domain", "stage",
                "count", "contract_type", "amount", "amount_visible", "signed_on", "registration_no", "registered_on"]


def _text(profile, name):
    return (getattr(profile, name) or "") if profile is not None else ""


def _visible_organisations(viewer):
    """``[(Organisation, OrgProfile or None)]`` the viewer may open (the profile page's rule), by name."""
    from ..models import Organisation, OrgProfile
    from . import organisations

    rows = db.session.execute(select(Organisation, OrgProfile).outerjoin(OrgProfile, OrgProfile.org_id == Organisation.id)
                              .order_by(Organisation.name)).all()
    return [(o, p) for o, p in rows if organisations.may_view(viewer, o)]


def organisations_frame(viewer, *, on=None):
    """The district database's organisations the viewer may open, one row each, with the tiers in force on ``on``.

    Parameters
    ----------
    viewer : webapp.visibility.Viewer
        Organisers, analysts and administrators get every organisation, a member its own, others none
        (:func:`webapp.services.organisations.may_view`).
    on : datetime.date, optional
        Day the tiers must be in force (valid or expiring); default today.

    Returns
    -------
    pandas.DataFrame
        :data:`ORGANISATION_COLUMNS`; ``tiers`` joins the tiers in force with "、" in
        :data:`~webapp.services.organisations.TIERS` order ("" for none), ``rd_staff`` is ``Int64``.
    """
    from . import organisations

    rows = _visible_organisations(viewer)
    tiers = organisations.current_tiers([o.id for o, _p in rows], on)
    frame = pd.DataFrame({
        "org_id": [o.id for o, _p in rows], "name": [o.name for o, _p in rows], "kind": [o.kind for o, _p in rows],
        "credit_code": [_text(p, "credit_code") for _o, p in rows],
        "industry_code": [_text(p, "industry_code") for _o, p in rows],
        # Codes are stored with their section letter (webapp.services.organisations.check_profile adds it).
        "industry_section": [_text(p, "industry_code")[:1] for _o, p in rows],
        "town": [_text(p, "town") for _o, p in rows],
        "rd_staff": pd.array([p.rd_staff if p is not None else None for _o, p in rows], dtype="Int64"),
        **{name: [_text(p, name) for _o, p in rows] for name in ("revenue_band", "main_products", "institute_type",
                                                                 "disciplines", "teams")},
        "tiers": ["、".join(tiers.get(o.id, [])) for o, _p in rows],
    }, columns=ORGANISATION_COLUMNS)
    return frame


def tiers_frame(viewer, *, on=None):
    """Tier memberships of the organisations the viewer may open (:func:`organisations_frame`'s rule), one row each.

    Parameters
    ----------
    viewer : webapp.visibility.Viewer
    on : datetime.date, optional
        Day ``status`` and ``in_force`` refer to; default today.

    Returns
    -------
    pandas.DataFrame
        :data:`TIER_COLUMNS`: ``status`` is valid, expiring, expired or pending
        (:func:`webapp.services.organisations.tier_status`), ``in_force`` is valid or expiring; dates are
        ``datetime64`` (NaT when open), ordered by organisation name and tier.
    """
    from ..models import OrgTier
    from . import organisations

    names = {o.id: o.name for o, _p in _visible_organisations(viewer)}
    rows = [t for t in db.session.scalars(select(OrgTier).where(OrgTier.org_id.in_(list(names)))) if t.org_id in names]
    rows.sort(key=lambda t: (names[t.org_id], organisations.TIERS.index(t.tier)))
    status = [organisations.tier_status(t, on) for t in rows]
    return pd.DataFrame({
        "org_id": [t.org_id for t in rows], "name": [names[t.org_id] for t in rows], "tier": [t.tier for t in rows],
        "number": [t.number for t in rows], "valid_from": pd.to_datetime([t.valid_from for t in rows]),
        "valid_until": pd.to_datetime([t.valid_until for t in rows]), "status": status,
        "in_force": [s in ("valid", "expiring") for s in status],
    }, columns=TIER_COLUMNS)


def deals_frame(viewer, *, event_ids=None):
    """The deals (pipeline rows) of the events the viewer may open, as :func:`webapp.services.deals.listing` shows them.

    Parameters
    ----------
    viewer : webapp.visibility.Viewer
    event_ids : iterable of int, optional
        Only these events (those the viewer may not open are left out); default every event it may open.

    Returns
    -------
    pandas.DataFrame
        :data:`DEAL_COLUMNS`, one row per deal, by event and deal id. ``amount`` (万元) and
        ``registration_no`` are NaN / "" where the viewer may not see them (``amount_visible`` False);
        dates are ``datetime64``.
    """
    from .. import visibility
    from ..models import Event
    from . import deals

    query = select(Event.id).where(visibility.event_clause(viewer, Event.id)).order_by(Event.id)
    if event_ids is not None:
        query = query.where(Event.id.in_([int(i) for i in event_ids]))
    rows = [{"event_id": event_id, "deal_id": row["id"], **row}
            for event_id in db.session.scalars(query) for row in deals.listing(viewer, event_id)]
    frame = pd.DataFrame(rows, columns=DEAL_COLUMNS)
    frame["amount"] = frame["amount"].astype(float)
    frame["amount_visible"] = frame["amount_visible"].astype(bool)
    for column in ("signed_on", "registered_on"):
        frame[column] = pd.to_datetime(frame[column])
    return frame
