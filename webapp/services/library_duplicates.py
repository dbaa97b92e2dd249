"""Near-duplicate check on submission: one :class:`matcher.NearDuplicateIndex` per kind in each process.

The collection is every library item that is not a draft (pending, listed, withdrawn, expired:
a resubmitted copy of a withdrawn item is still a duplicate). Each process builds its index on
first use and, like the matching index, brings it up to the database whenever the library version
counter moved (:mod:`webapp.changes`): of the items written since, those that left the collection
or changed version are removed, new ones added. A check then costs the submitted text's bigrams and one pass over the
stored counts, where the check used to refit a TF-IDF over the whole library on every submission.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from matcher import NearDuplicateIndex

from ..changes import library_changes, library_version
from ..db import db
from ..models import LibraryItem

_KEY = "library_duplicates"
_LOCK = threading.Lock()
_CHUNK = 2000


@dataclass
class DuplicateIndex:
    """One process's near-duplicate indexes and what they reflect."""

    indexes: dict = field(default_factory=lambda: {"need": NearDuplicateIndex(), "capability": NearDuplicateIndex()})
    loaded: dict = field(default_factory=dict)  # item id → (kind, version)
    version: int = -1


def item_text(item):
    """The text compared for duplicates: title and description."""
    return f"{item.title} {item.description}"


def similar(item, *, threshold, limit):
    """Non-draft items of the item's kind whose text is at least ``threshold`` similar: ``[(id, cosine)]``."""
    with _LOCK:
        state = current_state()
        found = state.indexes[item.kind].similar(item_text(item), threshold=threshold, limit=limit + 1)
    return [(item_id, similarity) for item_id, similarity in found if item_id != item.id][:limit]


def current_state():
    """This process's indexes brought up to the database (call with ``_LOCK`` held)."""
    app = current_app._get_current_object()
    version = library_version(db.session)
    state = app.extensions.get(_KEY)
    if state is not None and state.version == version:
        return state
    query = select(LibraryItem.id, LibraryItem.kind, LibraryItem.version).where(LibraryItem.status != "draft")
    if state is None:
        state, changed = DuplicateIndex(), None
        rows = {row.id: (row.kind, row.version) for row in db.session.execute(query)}
    else:
        changed = sorted(library_changes(db.session, state.version)[0])
        rows = {}
        for start in range(0, len(changed), 500):
            rows.update((row.id, (row.kind, row.version)) for row in db.session.execute(
                query.where(LibraryItem.id.in_(changed[start:start + 500]))))
    for item_id in [i for i in (changed if changed is not None else []) if i in state.loaded
                    and rows.get(i) != state.loaded[i]]:
        state.indexes[state.loaded.pop(item_id)[0]].remove([item_id])
    added = sorted(i for i, row in rows.items() if state.loaded.get(i) != row)
    for start in range(0, len(added), _CHUNK):
        items = db.session.execute(select(LibraryItem.id, LibraryItem.kind, LibraryItem.title, LibraryItem.description)
                                   .where(LibraryItem.id.in_(added[start:start + _CHUNK]))).all()
        for kind in ("need", "capability"):
            chosen = [row for row in items if row.kind == kind]
            state.indexes[kind].add([row.id for row in chosen], [item_text(row) for row in chosen])
        state.loaded.update((row.id, rows[row.id]) for row in items)
    state.version = version
    app.extensions[_KEY] = state
    return state
