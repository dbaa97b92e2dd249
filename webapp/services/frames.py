"""Database rows ↔ the DataFrames ``matcher`` expects and returns."""
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
