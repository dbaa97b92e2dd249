"""Dense top-k search over one side's items, kept apart by tier level: exact or approximate (HNSW).

A query only ever searches the tiers it may see, so a classified item never
takes a place in the results of a query that may not see it. Items are added
and withdrawn one by one as the standing library changes, and the index is
saved beside it (:meth:`VectorIndex.save`, :meth:`VectorIndex.load`).

``method="exact"`` is a blocked matrix product with a partial sort (the fastest
choice up to a few hundred thousand items on two cores, see README "Scale");
``method="hnsw"`` is hnswlib's graph index, for larger catalogues.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import kernels
from .errors import InputError

METHODS = ("exact", "hnsw")
_BLOCK = 2048


class VectorIndex:
    """Top-k inner-product search per tier level over unit vectors.

    Parameters
    ----------
    method : {"exact", "hnsw"}, default "exact"
    ef_search : int, default 128
        HNSW search breadth (larger: better recall, slower); at least ``k`` is used.
    connectivity : int, default 32
        HNSW graph degree.
    ef_construction : int, default 100
        HNSW build breadth.

    Attributes
    ----------
    ids_ : numpy.ndarray of object
        Item id of each label (labels are positions in this array; withdrawn items keep their label).
    levels_ : numpy.ndarray of int8
        Tier level of each label.
    active_ : numpy.ndarray of bool
        False for withdrawn labels.

    Examples
    --------
    >>> index = VectorIndex().build(["C1", "C2"], vectors, [0, 1])
    >>> labels, similarities = index.search(query_vectors, 1, level=0)
    >>> index.ids_[labels[0, 0]]
    'C1'
    """

    def __init__(self, *, method="exact", ef_search=128, connectivity=32, ef_construction=100):
        self.method = method
        self.ef_search = ef_search
        self.connectivity = connectivity
        self.ef_construction = ef_construction

    def build(self, ids, vectors, levels):
        """Index ``vectors`` (n, dim) of items ``ids`` at tier ``levels``; returns self."""
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}; got {self.method!r}")
        vectors = np.asarray(vectors, dtype=np.float32)
        self.dim_ = vectors.shape[1]
        self.ids_ = np.zeros(0, dtype=object)
        self.levels_ = np.zeros(0, dtype=np.int8)
        self.active_ = np.zeros(0, dtype=bool)
        self._tiers = {}
        return self.add(ids, vectors, levels)

    def add(self, ids, vectors, levels):
        """Add items (an id already present is withdrawn first, so changed text replaces its vector)."""
        ids = np.asarray(list(ids), dtype=object)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        levels = np.asarray(levels, dtype=np.int8)
        self.withdraw([i for i in ids if i in self._label_of()])
        labels = np.arange(len(self.ids_), len(self.ids_) + len(ids))
        self.ids_ = np.concatenate([self.ids_, ids])
        self.levels_ = np.concatenate([self.levels_, levels])
        self.active_ = np.concatenate([self.active_, np.ones(len(ids), dtype=bool)])
        self._labels = None
        for level in np.unique(levels):
            chosen = levels == level
            self._tier(int(level)).add(labels[chosen], vectors[chosen])
        return self

    def withdraw(self, ids):
        """Remove items by id from every later search; unknown ids are an error."""
        label_of = self._label_of()
        missing = [i for i in ids if i not in label_of]
        if missing:
            raise InputError(f"cannot withdraw {len(missing)} unknown id(s), e.g. {missing[0]!r}")
        labels = np.array([label_of[i] for i in ids], dtype=np.int64)
        for label in labels:
            self._tiers[int(self.levels_[label])].withdraw(label)
        self.active_[labels] = False
        self._labels = None
        return self

    def search(self, queries, k, level, *, far=0):
        """Labels and similarities of the ``k`` nearest active items of tier ``level`` (and ``far`` farthest).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray[, numpy.ndarray])
            Labels (n_queries, k) with -1 where the tier has fewer items, their
            similarities, and with ``far`` the labels of the least similar items.
        """
        tier = self._tiers.get(int(level))
        queries = np.asarray(queries, dtype=np.float32)
        if tier is None or not tier.size:
            empty = np.full((len(queries), k), -1, dtype=np.int64)
            found = (empty, np.zeros((len(queries), k), dtype=np.float32))
            return found + ((np.full((len(queries), far), -1, dtype=np.int64),) if far else ())
        return tier.search(queries, k, far=far)

    def levels(self):
        """Tier levels holding active items."""
        return np.unique(self.levels_[self.active_])

    def save(self, path):
        """Write the index to the folder ``path`` (created if needed)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"method": self.method, "ef_search": self.ef_search, "connectivity": self.connectivity,
                "ef_construction": self.ef_construction, "dim": self.dim_, "ids": [str(i) for i in self.ids_],
                "levels": self.levels_.tolist(), "active": self.active_.tolist(), "tiers": sorted(self._tiers)}
        for level, tier in self._tiers.items():
            tier.save(path / f"tier{level}")
        (path / "index.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path):
        """Read an index written by :meth:`save`."""
        path = Path(path)
        meta = json.loads((path / "index.json").read_text(encoding="utf-8"))
        index = cls(method=meta["method"], ef_search=meta["ef_search"], connectivity=meta["connectivity"],
                    ef_construction=meta["ef_construction"])
        index.dim_ = meta["dim"]
        index.ids_ = np.asarray(meta["ids"], dtype=object)
        index.levels_ = np.asarray(meta["levels"], dtype=np.int8)
        index.active_ = np.asarray(meta["active"], dtype=bool)
        index._labels = None
        index._tiers = {level: _TIERS[index.method].load(path / f"tier{level}", index) for level in meta["tiers"]}
        return index

    def _tier(self, level):
        if level not in self._tiers:
            self._tiers[level] = _TIERS[self.method](self)
        return self._tiers[level]

    def _label_of(self):
        if getattr(self, "_labels", None) is None:
            active = np.flatnonzero(self.active_)
            self._labels = dict(zip(self.ids_[active], active))
        return self._labels


class _ExactTier:
    """Vectors of one tier in a matrix; search is a blocked product and a partial sort."""

    def __init__(self, owner):
        self.labels = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, owner.dim_), dtype=np.float32)

    @property
    def size(self):
        return len(self.labels)

    def add(self, labels, vectors):
        self.labels = np.concatenate([self.labels, labels])
        self.vectors = np.vstack([self.vectors, vectors])

    def withdraw(self, label):
        keep = self.labels != label
        self.labels, self.vectors = self.labels[keep], self.vectors[keep]

    def search(self, queries, k, *, far=0):
        n = len(queries)
        labels = np.full((n, k), -1, dtype=np.int64)
        similarities = np.zeros((n, k), dtype=np.float32)
        farthest = np.full((n, far), -1, dtype=np.int64)
        width, depth = min(k, self.size), min(far, self.size)
        for start in range(0, n, _BLOCK):
            scores = queries[start:start + _BLOCK] @ self.vectors.T
            rows = np.arange(len(scores))[:, None]
            # Both give the most similar first (ties to the lower column) and the least similar.
            if width + depth < self.size:
                # One compiled pass per row finds both ends (several times faster than argpartition).
                top, bottom = kernels.row_extremes(scores, width, depth)
            else:
                top = np.argsort(-scores, axis=1, kind="stable")
                bottom = top[:, ::-1]
            labels[start:start + len(scores), :width] = self.labels[top[:, :width]]
            similarities[start:start + len(scores), :width] = scores[rows, top[:, :width]]
            if depth:
                farthest[start:start + len(scores), :depth] = self.labels[bottom[:, :depth]]
        return (labels, similarities, farthest) if far else (labels, similarities)

    def save(self, path):
        np.savez(f"{path}.npz", labels=self.labels, vectors=self.vectors)

    @classmethod
    def load(cls, path, owner):
        tier = cls(owner)
        with np.load(f"{path}.npz") as stored:
            tier.labels, tier.vectors = stored["labels"], stored["vectors"]
        return tier


class _HNSWTier:
    """One hnswlib graph per tier; withdrawn items are marked deleted and skipped by searches."""

    def __init__(self, owner):
        import hnswlib

        self.owner = owner
        self.graph = hnswlib.Index(space="ip", dim=owner.dim_)
        self.graph.init_index(max_elements=1024, M=owner.connectivity, ef_construction=owner.ef_construction,
                              allow_replace_deleted=False)
        self.count = 0

    @property
    def size(self):
        return self.count

    def add(self, labels, vectors):
        needed = self.graph.get_current_count() + len(labels)
        if needed > self.graph.get_max_elements():
            self.graph.resize_index(max(needed, 2 * self.graph.get_max_elements()))
        self.graph.add_items(vectors, labels)
        self.count += len(labels)

    def withdraw(self, label):
        self.graph.mark_deleted(int(label))
        self.count -= 1

    def search(self, queries, k, *, far=0):
        n = len(queries)
        width = min(k, self.count)
        labels = np.full((n, k), -1, dtype=np.int64)
        similarities = np.zeros((n, k), dtype=np.float32)
        if width:
            self.graph.set_ef(max(self.owner.ef_search, width))
            found, distances = self.graph.knn_query(queries, k=width)
            labels[:, :width], similarities[:, :width] = found, 1.0 - distances
        if not far:
            return labels, similarities
        depth = min(far, self.count)
        farthest = np.full((n, far), -1, dtype=np.int64)
        if depth:
            farthest[:, :depth] = self.graph.knn_query(-queries, k=depth)[0]
        return labels, similarities, farthest

    def save(self, path):
        self.graph.save_index(f"{path}.hnsw")

    @classmethod
    def load(cls, path, owner):
        tier = cls(owner)
        tier.graph.load_index(f"{path}.hnsw", max_elements=0)
        tier.count = int(np.sum(owner.active_ & (owner.levels_ == int(Path(path).name[4:]))))
        return tier


_TIERS = {"exact": _ExactTier, "hnsw": _HNSWTier}
