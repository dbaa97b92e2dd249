"""Matching as library items arrive: the app's :class:`matcher.standing.StandingMatches`, stored and announced.

Publishing an item adds it to the standing index (one search and one row of similarities,
never a re-rank of the library), stores the changed best-match lists in ``library_matches``
with each pair's calibrated strength (:class:`matcher.StandingStrength`, the need as the query)
and tells the owners of items the new one now ranks among the best three for ("为您推荐"),
when the pair is strong (强, :data:`matcher.strength.BANDS`). Withdrawing, expiring or editing an
item removes it from the index and refills only the lists it was in. Organisations that already
met at an event (the organisation history) are not matched again (``StandingMatches.exclude``);
an owner may still ask for the list with them (:func:`suggestions` with ``with_met``).

Several web processes: each keeps its own index, built from the published items on first use,
and brings it up to the database before every use when the library version counter
(:class:`webapp.models.LibraryVersion`, bumped by :mod:`webapp.changes` on every relevant write)
differs from the version it reflects: the items written since (``library_changes``) and, when it
changed, the history are compared with what the index holds, and only the difference is applied
(withdrawals, new exclusions, publishes),
storing the lists it changes. Whichever process notices a change first stores its lists; the
others compute the same lists. Notices are written only by the process that published the item.

Vectors: the app's embedder (needs as queries, capabilities as passages) when the semantic
signal is on; with it off (``MATCHER_WEIGHTS`` semantic 0, as in tests) hashed character
unigrams and bigrams, L2-normalised, so the lexical overlap decides, and the strength uses the
lexical-only model.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from sqlalchemy import delete, select

from matcher import CLASSIFICATIONS, CLEARANCES
from matcher.records import record_texts
from matcher.standing import StandingMatches
from matcher.standing_strength import StandingStrength
from matcher.strength import BANDS, strength_band

from .. import visibility
from ..changes import library_changes, library_version
from ..db import db
from ..models import LibraryItem, LibraryMatch, LibraryRevision, Organisation, OrgHistory
from ..state import get_embedder

TOP_K = 10
#: A new item is announced to an owner when it enters that owner's item's best ``NOTIFY_RANK``
#: and the pair is strong (at least the 强 band's lower bound).
NOTIFY_RANK = 3
NOTIFY_STRENGTH = BANDS[0][1]
HASHED_DIM = 1024
_KEY = "library_index"
_REMEMBERED = 1000  # lists entered by items this process added, kept for their publisher's notices
_LOCK = threading.Lock()


@dataclass
class LibraryIndex:
    """One process's library index and what it reflects."""

    matches: StandingMatches
    strength: StandingStrength
    loaded: dict = field(default_factory=dict)  # item id → (kind, version, classification, org)
    excluded: set = field(default_factory=set)  # (need organisation, capability organisation)
    version: int = -1
    entered: dict = field(default_factory=dict)  # item id → [(other id, score)] from its publish here


def item_texts(items):
    """Text embedded and indexed for each item (title, description and keywords, as for event records)."""
    return record_texts(_frame([(item.title, item.description, item.keywords) for item in items]))


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=["title", "description", "keywords"])


def encode(items):
    """Unit vectors (n_items, dim) of library items (or anything with ``kind``, ``title``, ``description``,
    ``keywords``)."""
    texts = item_texts(items)
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
    unique, rows = sorted(set(names)), {}
    for start in range(0, len(unique), 500):
        rows.update((o.name, o) for o in db.session.scalars(select(Organisation).where(
            Organisation.name.in_(unique[start:start + 500]))))
    return [CLEARANCES[visibility.effective_clearance(rows.get(n))] if rows.get(n) is not None
            and rows[n].kind == "enterprise" else 0 for n in names]


def met_pairs():
    """Organisation pairs (need organisation, capability organisation) that met or signed at any event."""
    return set(db.session.execute(select(OrgHistory.need_org, OrgHistory.capability_org).distinct()).all())


def current_index():
    """This process's index brought up to the database (call with ``_LOCK`` held)."""
    app = current_app._get_current_object()
    version = library_version(db.session)
    index = app.extensions.get(_KEY)
    if index is not None and index.version == version:
        return index
    if index is not None:
        changed, history_changed = library_changes(db.session, index.version)
        history = met_pairs() if history_changed else index.excluded
    if index is None or not history >= index.excluded:
        # First use in this process, or history entries removed: one blocked full recomputation. The lists
        # are stored again when history was removed, or when some were stored without a strength (before 0010).
        unrated = db.session.scalar(select(LibraryMatch.id).where(LibraryMatch.strength.is_(None)).limit(1))
        index = _build(met_pairs(), version, store=index is not None or unrated is not None)
        app.extensions[_KEY] = index
        return index
    rows = _listed_rows(changed)
    keys = _withdraw_changed(index, rows, changed)
    for pair in sorted(history - index.excluded):
        keys.update(index.matches.exclude(*pair))
        index.excluded.add(pair)
    keys.update(_publish_new(index, rows))
    _store(index, keys)
    index.version = version
    return index


def _listed_rows(ids=None):
    """``{id: (kind, version, 密级, organisation)}`` of the listed items (among ``ids`` when given)."""
    from .library import listed_clause

    query = select(LibraryItem.id, LibraryItem.kind, LibraryItem.version, LibraryItem.classification,
                   LibraryItem.org).where(listed_clause())
    if ids is None:
        return {row.id: tuple(row[1:]) for row in db.session.execute(query)}
    ids, out = sorted(ids), {}
    for start in range(0, len(ids), 500):
        out.update((row.id, tuple(row[1:])) for row in db.session.execute(
            query.where(LibraryItem.id.in_(ids[start:start + 500]))))
    return out


def _build(history, version, *, store):
    from .library import listed_clause

    items = db.session.scalars(select(LibraryItem).where(listed_clause()).order_by(LibraryItem.id)).all()
    rows = {item.id: (item.kind, item.version, item.classification, item.org) for item in items}
    embedder = get_embedder()
    dim = HASHED_DIM if embedder is None else embedder.dim_
    vectors = encode(items) if items else np.zeros((0, dim), dtype=np.float32)
    levels = org_levels([i.org for i in items])
    sides = {kind: {"ids": [], "vectors": [], "levels": [], "orgs": [], "org_levels": []}
             for kind in ("need", "capability")}
    for item, vector, level in zip(items, vectors, levels):
        for name, value in (("ids", item.id), ("vectors", vector), ("levels", CLASSIFICATIONS[item.classification]),
                            ("orgs", item.org), ("org_levels", level)):
            sides[item.kind][name].append(value)
    matches = StandingMatches(dim, top_k=TOP_K)
    for pair in sorted(history):
        matches.exclude(*pair)
    matches.build(sides["need"], sides["capability"])
    capabilities = [i for i, item in enumerate(items) if item.kind == "capability"]
    strength = StandingStrength(dim, semantic=embedder is not None).add(
        item_texts([items[i] for i in capabilities]), vectors[capabilities],
        [CLASSIFICATIONS[items[i].classification] for i in capabilities])
    index = LibraryIndex(matches, strength, loaded=dict(rows), excluded=set(history), version=version)
    if store:
        _store(index, set(index.matches.matches_))
    return index


def _withdraw_changed(index, rows, changed):
    """Take out of the index every changed item no longer listed as it was loaded; the keys of the lists changed."""
    keys = set()
    for item_id in sorted(i for i in changed if i in index.loaded and rows.get(i) != index.loaded[i]):
        kind, version, classification, _org = index.loaded.pop(item_id)
        side = index.matches.sides[kind]
        vector = side.vectors[side.position[item_id]].copy()
        other_kind = "capability" if kind == "need" else "need"
        keys.add((kind, item_id))
        keys.update((other_kind, other_id) for other_id in index.matches.withdraw(kind, item_id))
        if kind == "capability":
            text = _indexed_text(item_id, version)
            if text is None:  # its revision is gone: recount the capability statistics from what is listed
                index.strength = _recounted(index)
            else:
                index.strength.remove([text], vector[None, :], [CLASSIFICATIONS[classification]])
    return keys


def _indexed_text(item_id, version):
    """The text an item had at ``version`` (from its revisions: text changes only with a new version)."""
    fields = db.session.scalar(select(LibraryRevision.fields).where(
        LibraryRevision.item_id == item_id, LibraryRevision.version == version).order_by(LibraryRevision.id.desc()))
    if fields is None:
        return None
    return item_texts([_Text(fields.get("title") or "", fields.get("description") or "", fields.get("keywords") or "")])[0]


@dataclass
class _Text:
    title: str
    description: str
    keywords: str


def _recounted(index):
    side = index.matches.sides["capability"]
    ids = [i for i in side.ids if side.active[side.position[i]] and i in index.loaded]
    items = {item.id: item for item in db.session.scalars(select(LibraryItem).where(LibraryItem.id.in_(ids)))}
    ids = [i for i in ids if i in items]
    strength = StandingStrength(index.strength.dim, semantic=index.strength.semantic)
    return strength.add(item_texts([items[i] for i in ids]), side.vectors[[side.position[i] for i in ids]],
                        [CLASSIFICATIONS[items[i].classification] for i in ids])


def _publish_new(index, rows):
    """Add every listed item the index does not hold; the keys of the lists changed."""
    added = sorted(i for i, row in rows.items() if index.loaded.get(i) != row)
    if not added:
        return set()
    items = db.session.scalars(select(LibraryItem).where(LibraryItem.id.in_(added)).order_by(LibraryItem.id)).all()
    vectors = encode(items)
    levels = org_levels([item.org for item in items])
    texts = item_texts(items)
    keys = set()
    for item, vector, level, text in zip(items, vectors, levels, texts):
        entered = index.matches.publish(item.kind, item.id, vector, level=CLASSIFICATIONS[item.classification],
                                        org=item.org, org_level=level)
        other_kind = "capability" if item.kind == "need" else "need"
        keys.add((item.kind, item.id))
        keys.update((other_kind, other_id) for other_id, _ in entered)
        if item.kind == "capability":
            index.strength.add([text], vector[None, :], [CLASSIFICATIONS[item.classification]])
        index.loaded[item.id] = rows[item.id]
        index.entered[item.id] = entered
        while len(index.entered) > _REMEMBERED:
            index.entered.pop(next(iter(index.entered)))
    return keys


def publish(item):
    """Bring the index up to a newly listed item; notify owners of items it now ranks high for, if strong."""
    from . import inbox

    with _LOCK:
        index = current_index()
        other_kind = "capability" if item.kind == "need" else "need"
        ranks = {}
        for other_id, _score in index.entered.pop(item.id, []):
            listed = [i for _, i in index.matches.matches_.get((other_kind, other_id), [])]
            if item.id in listed:
                ranks[other_id] = listed.index(item.id)
    stored = dict(db.session.execute(select(LibraryMatch.item_id, LibraryMatch.strength).where(
        LibraryMatch.item_id.in_(list(ranks)), LibraryMatch.other_id == item.id)).all())
    owners = dict(db.session.execute(select(LibraryItem.id, LibraryItem.org).where(
        LibraryItem.id.in_(list(ranks)))).all())
    for other_id, rank in sorted(ranks.items()):
        strength = stored.get(other_id)
        if rank < NOTIFY_RANK and strength is not None and strength >= NOTIFY_STRENGTH:
            inbox.notify("library_match", org=owners[other_id], link=f"/library/{other_id}", item_id=item.id,
                         other_id=other_id, strength=f"{strength:.2f}", band=str(strength_band(strength)))
    db.session.commit()


def withdraw(_item):
    """Bring the index up to an item leaving the listed ones (withdrawn, expired, edited, dealt)."""
    with _LOCK:
        current_index()
    db.session.commit()


def _store(index, keys, *, chunk_size=200):
    """Replace the stored lists of ``keys`` ((side, item id)) with the index's, each pair with its strength."""
    keys = sorted(keys, key=lambda key: (key[0], str(key[1])))
    for start in range(0, len(keys), chunk_size):  # bounded memory and statement size for whole-library stores
        chunk = keys[start:start + chunk_size]
        db.session.execute(delete(LibraryMatch).where(LibraryMatch.item_id.in_([item_id for _, item_id in chunk])))
        pairs = [(key[1], score, other_id) for key in chunk for score, other_id in index.matches.matches_.get(key, [])]
        if not pairs:
            continue
        strengths = _pair_strengths(index, [(item_id, other_id) for item_id, _score, other_id in pairs])
        db.session.execute(LibraryMatch.__table__.insert(), [
            {"item_id": item_id, "other_id": other_id, "score": score, "strength": strengths[(item_id, other_id)]}
            for item_id, score, other_id in pairs])


def _pair_strengths(index, pairs):
    """Strength of each (item id, other id) pair of listed items, whichever side the first is on."""
    ids = {i for pair in pairs for i in pair}
    items = {item.id: item for item in db.session.scalars(select(LibraryItem).where(LibraryItem.id.in_(ids)))}
    oriented = [(a, b) if items[a].kind == "need" else (b, a) for a, b in pairs]
    need_ids = sorted({n for n, _ in oriented})
    capability_ids = sorted({c for _, c in oriented})
    needs, capabilities = index.matches.sides["need"], index.matches.sides["capability"]
    matrix = index.strength.strengths(
        item_texts([items[i] for i in need_ids]), needs.vectors[[needs.position[i] for i in need_ids]],
        needs.org_levels[[needs.position[i] for i in need_ids]], item_texts([items[i] for i in capability_ids]),
        capabilities.vectors[[capabilities.position[i] for i in capability_ids]])
    row = {n: r for r, n in enumerate(need_ids)}
    column = {c: k for k, c in enumerate(capability_ids)}
    return {pair: float(matrix[row[n], column[c]]) for pair, (n, c) in zip(pairs, oriented)}


def suggestions(viewer, item, *, limit=TOP_K, with_met=False):
    """The item's best matches the viewer may see, best first, each with its calibrated strength.

    Only the item's owners and reviewers see an item's suggestions. Organisations that already
    met are left out (the stored lists); ``with_met`` computes the list with them from the index.

    Returns
    -------
    list of dict
        ``item`` (LibraryItem), ``score`` (cosine, orders the list), ``strength``, ``band`` (强/中/弱)
        and ``met`` (the two organisations met at an event).
    """
    from .library import is_owner, is_reviewer, item_clause

    if not (is_owner(viewer, item) or is_reviewer(viewer)):
        return []
    if with_met:
        return _with_met(viewer, item, limit)
    # The stored lists leave met organisations out once a process has applied the history; a pair that met
    # since is filtered here too, so the page never waits for that.
    need_org, capability_org = (item.org, LibraryItem.org) if item.kind == "need" else (LibraryItem.org, item.org)
    met = select(OrgHistory.id).where(OrgHistory.need_org == need_org, OrgHistory.capability_org == capability_org)
    rows = db.session.execute(select(LibraryItem, LibraryMatch.score, LibraryMatch.strength).join(
        LibraryMatch, LibraryMatch.other_id == LibraryItem.id).where(
        LibraryMatch.item_id == item.id, item_clause(viewer), ~met.exists()).order_by(
        LibraryMatch.score.desc(), LibraryItem.id).limit(limit)).all()
    return [_suggestion(other, score, strength, False) for other, score, strength in rows]


def _with_met(viewer, item, limit):
    from .library import item_clause

    with _LOCK:
        index = current_index()
        side = index.matches.sides[item.kind]
        if item.id not in side.position or not side.active[side.position[item.id]]:
            return []
        entries = index.matches.search(item.kind, item.id, with_excluded=True)
        history = set(index.excluded)
        strengths = _pair_strengths(index, [(item.id, other_id) for _, other_id in entries])
    visible = {other.id: other for other in db.session.scalars(select(LibraryItem).where(
        LibraryItem.id.in_([other_id for _, other_id in entries]), item_clause(viewer)))}
    out = []
    for score, other_id in entries:
        if other_id in visible:
            other = visible[other_id]
            pair = (item.org, other.org) if item.kind == "need" else (other.org, item.org)
            out.append(_suggestion(other, score, strengths[(item.id, other_id)], pair in history))
    return out[:limit]


def _suggestion(other, score, strength, met):
    return {"item": other, "score": float(score), "strength": strength, "met": met,
            "band": str(strength_band(strength)) if strength is not None else ""}
