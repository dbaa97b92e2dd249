"""Matching as library items arrive: the app's :class:`matcher.standing.StandingMatches`, stored and announced.

Publishing an item adds it to the standing index (one search and one row of similarities,
never a re-rank of the library), stores the changed best-match lists in ``library_matches``
and tells the owners of items the new one now ranks among the best three for ("为您推荐").
Withdrawing, expiring or editing an item removes it from the index and refills only the lists
it was in. The index is built from the published items on first use in a process.

Vectors: the app's embedder (needs as queries, capabilities as passages) when the semantic
signal is on; with it off (``MATCHER_WEIGHTS`` semantic 0, as in tests) hashed character
unigrams and bigrams, L2-normalised, so the lexical overlap decides.
"""
from __future__ import annotations

import threading

import numpy as np
from flask import current_app
from sqlalchemy import delete, select

from matcher import CLASSIFICATIONS, CLEARANCES
from matcher.standing import StandingMatches

from .. import visibility
from ..db import db
from ..models import LibraryItem, LibraryMatch, Organisation
from ..state import get_embedder

TOP_K = 10
#: A new item is announced to an owner when it enters that owner's item's best ``NOTIFY_RANK``.
NOTIFY_RANK = 3
HASHED_DIM = 1024
_LOCK = threading.Lock()


def encode(items):
    """Unit vectors (n_items, dim) of library items."""
    texts = [f"{item.title}。{item.keywords}。{item.description}" for item in items]
    embedder = get_embedder()
    if embedder is None:
        from sklearn.feature_extraction.text import HashingVectorizer

        hashed = HashingVectorizer(analyzer="char", ngram_range=(1, 2), n_features=HASHED_DIM, alternate_sign=False)
        return hashed.transform(texts).toarray().astype(np.float32)
    vectors = np.zeros((len(items), embedder.dim_), dtype=np.float32)
    for kind, role in (("need", "query"), ("capability", "passage")):
        chosen = [i for i, item in enumerate(items) if item.kind == kind]
        if chosen:
            vectors[chosen] = embedder.encode([texts[i] for i in chosen], role=role)
    return vectors


def org_levels(names):
    """Numeric level of what each organisation may see: its verified qualification for enterprises, else 0
    (the library's visibility rule: institute members see others' 公开 items only)."""
    rows = {o.name: o for o in db.session.scalars(select(Organisation).where(Organisation.name.in_(set(names))))}
    return [CLEARANCES[visibility.effective_clearance(rows.get(n))] if rows.get(n) is not None
            and rows[n].kind == "enterprise" else 0 for n in names]


def _library():
    app = current_app._get_current_object()
    library = app.extensions.get("library_matches")
    if library is None:
        items = db.session.scalars(select(LibraryItem).where(_listed()).order_by(LibraryItem.id)).all()
        vectors = encode(items) if items else np.zeros((0, _dim()), dtype=np.float32)
        levels = org_levels([i.org for i in items])
        sides = {kind: {"ids": [], "vectors": [], "levels": [], "orgs": [], "org_levels": []}
                 for kind in ("need", "capability")}
        for item, vector, level in zip(items, vectors, levels):
            for name, value in (("ids", item.id), ("vectors", vector), ("levels", CLASSIFICATIONS[item.classification]),
                                ("orgs", item.org), ("org_levels", level)):
                sides[item.kind][name].append(value)
        # One blocked recomputation when a process first needs the index (then one item at a time).
        library = StandingMatches(vectors.shape[1], top_k=TOP_K).build(sides["need"], sides["capability"])
        app.extensions["library_matches"] = library
    return library


def _dim():
    embedder = get_embedder()
    return HASHED_DIM if embedder is None else embedder.dim_


def _listed():
    from .library import listed_clause

    return listed_clause()


def publish(item):
    """Add a newly listed item; store the changed lists and notify owners it now ranks high for."""
    from . import inbox

    vector = encode([item])[0]
    with _LOCK:
        library = _library()
        entered = library.publish(item.kind, item.id, vector, level=CLASSIFICATIONS[item.classification],
                                  org=item.org, org_level=org_levels([item.org])[0])
        other_kind = "capability" if item.kind == "need" else "need"
        _store(library, [(item.kind, item.id)] + [(other_kind, other_id) for other_id, _ in entered])
    owners = dict(db.session.execute(select(LibraryItem.id, LibraryItem.org).where(
        LibraryItem.id.in_([other_id for other_id, _ in entered]))).all())
    for other_id, score in entered:
        position = [i for _, i in library.matches_.get((other_kind, other_id), [])].index(item.id)
        if position < NOTIFY_RANK:
            inbox.notify("library_match", org=owners[other_id], link=f"/library/{other_id}", item_id=item.id,
                         other_id=other_id, score=f"{score:.2f}")
    db.session.commit()


def withdraw(item):
    """Take an item out of the index (no-op when it is not in it) and refill the lists it left."""
    with _LOCK:
        library = _library()
        side = library.sides[item.kind]
        if item.id not in side.position or not side.active[side.position[item.id]]:
            return
        other_kind = "capability" if item.kind == "need" else "need"
        refilled = library.withdraw(item.kind, item.id)
        _store(library, [(item.kind, item.id)] + [(other_kind, other_id) for other_id in refilled])
    db.session.commit()


def _store(library, keys):
    ids = [item_id for _, item_id in keys]
    db.session.execute(delete(LibraryMatch).where(LibraryMatch.item_id.in_(ids)))
    rows = [{"item_id": item_id, "other_id": other_id, "score": score}
            for key in keys for score, other_id in library.matches_.get(key, [])
            for item_id in [key[1]]]
    if rows:
        db.session.execute(LibraryMatch.__table__.insert(), rows)


def suggestions(viewer, item, *, limit=TOP_K):
    """The item's stored best matches the viewer may see, best first: ``[(LibraryItem, score)]``.

    Only the item's owners and reviewers see an item's suggestions.
    """
    from .library import is_owner, is_reviewer, item_clause

    if not (is_owner(viewer, item) or is_reviewer(viewer)):
        return []
    rows = db.session.execute(select(LibraryItem, LibraryMatch.score).join(
        LibraryMatch, LibraryMatch.other_id == LibraryItem.id).where(
        LibraryMatch.item_id == item.id, item_clause(viewer)).order_by(
        LibraryMatch.score.desc(), LibraryItem.id).limit(limit)).all()
    return [(other, score) for other, score in rows]
