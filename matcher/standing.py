"""Matching as items arrive: a standing library's best matches kept up to date one item at a time.

A library holds two sides (needs and capabilities). :class:`StandingMatches` keeps, for every
active item, its ``top_k`` most similar active items of the other side that the rules allow.
Publishing an item costs one search of its own (``matcher.VectorIndex``, exact or HNSW per
tier) and one row of similarities against the other side (to insert it into the lists it now
belongs to); withdrawing it removes it from every list and refills only the lists it left.
Nothing is recomputed for unaffected items, and the result equals a full recomputation
(``tests/test_standing.py`` compares them).

The rule for a pair: different organisations, each side's organisation may see the other's
tier (``tier level <= organisation level``, the numeric form of :func:`matcher.clearance_allows`),
and the two organisations have not been excluded as a pair (:meth:`StandingMatches.exclude`:
a need's organisation and a capability's organisation that already met at an event).
"""
from __future__ import annotations

import numpy as np

from .ann import VectorIndex
from .errors import InputError

SIDES = ("need", "capability")


class _Side:
    """Vectors and attributes of one side, by position (positions of withdrawn items stay, inactive)."""

    def __init__(self, dim):
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.ids = []
        self.orgs = np.zeros(0, dtype=np.int64)
        self.kth = np.zeros(0, dtype=np.float32)
        self.levels = np.zeros(0, dtype=np.int8)
        self.org_levels = np.zeros(0, dtype=np.int8)
        self.active = np.zeros(0, dtype=bool)
        self.position = {}
        self.index = None

    def append(self, item_id, vector, level, org, org_level):
        if len(self.ids) == len(self.vectors):  # grow geometrically: amortised O(1) per item
            grown = np.zeros((max(16, 2 * len(self.vectors)), self.vectors.shape[1]), dtype=np.float32)
            grown[:len(self.vectors)] = self.vectors
            self.vectors = grown
            self.levels = np.resize(self.levels, len(grown))
            self.org_levels = np.resize(self.org_levels, len(grown))
            self.orgs = np.resize(self.orgs, len(grown))
            self.kth = np.resize(self.kth, len(grown))
            self.active = np.concatenate([self.active, np.zeros(len(grown) - len(self.active), dtype=bool)])
        n = len(self.ids)
        self.vectors[n], self.levels[n], self.org_levels[n], self.active[n] = vector, level, org_level, True
        self.orgs[n], self.kth[n] = org, -np.inf
        self.ids.append(item_id)
        self.position[item_id] = n
        return n


class StandingMatches:
    """Each active item's ``top_k`` best allowed matches on the other side, maintained incrementally.

    Parameters
    ----------
    dim : int
        Vector dimension (unit vectors: the inner product is the cosine).
    top_k : int, default 10
    method : {"exact", "hnsw"}, default "exact"
        Search method of the per-side :class:`matcher.VectorIndex`.

    Attributes
    ----------
    matches_ : dict
        ``(side, item id)`` → list of ``(score, other id)``, best first.

    Examples
    --------
    >>> library = StandingMatches(384)
    >>> library.publish("need", "N1", vector, level=0, org="甲", org_level=0)
    >>> library.matches_[("need", "N1")]
    """

    def __init__(self, dim, *, top_k=10, method="exact"):
        self.dim = dim
        self.top_k = top_k
        self.method = method
        self.sides = {side: _Side(dim) for side in SIDES}
        self.matches_ = {}
        self._held_by = {}  # (side, id) → ids of the other side whose lists contain it
        self._org_codes = {}
        self._excluded = {}  # (side, organisation code) → codes of the other side's organisations it may not meet

    def exclude(self, need_org, capability_org):
        """Forbid every pair of a need of ``need_org`` and a capability of ``capability_org`` from now on.

        Lists that held such a pair are refilled from the index; no other list changes.

        Returns
        -------
        list of (str, object)
            ``(side, item id)`` of the lists refilled.
        """
        need_code, capability_code = (self._org_codes.setdefault(org, len(self._org_codes))
                                      for org in (need_org, capability_org))
        if capability_code in self._excluded.get(("need", need_code), ()):
            return []
        self._excluded.setdefault(("need", need_code), set()).add(capability_code)
        self._excluded.setdefault(("capability", capability_code), set()).add(need_code)
        refilled = []
        for side, own_code, other_code in (("need", need_code, capability_code),
                                           ("capability", capability_code, need_code)):
            own, other = self.sides[side], self.sides[_other(side)]
            n = len(own.ids)
            for position in np.flatnonzero(own.active[:n] & (own.orgs[:n] == own_code)):
                item_id = own.ids[position]
                if any(other.orgs[other.position[o]] == other_code for _s, o in self.matches_.get((side, item_id), [])):
                    self._set(side, item_id, self._search(side, item_id))
                    refilled.append((side, item_id))
        return refilled

    def build(self, needs, capabilities, *, block_size=2048):
        """Load a whole library at once and compute every list by a blocked full recomputation.

        Parameters
        ----------
        needs, capabilities : dict
            ``ids`` (n,), ``vectors`` (n, dim) unit float32, ``levels`` (n,) tier levels, ``orgs`` (n,)
            organisation names, ``org_levels`` (n,) what each owner may see.
        block_size : int, default 2048
            Query rows scored at once (memory: block_size × n_other floats).

        Returns
        -------
        StandingMatches
            self, with ``matches_`` for every item.
        """
        for side, items in (("need", needs), ("capability", capabilities)):
            self.sides[side] = _Side(self.dim)
            for item_id, vector, level, org, org_level in zip(items["ids"], items["vectors"], items["levels"],
                                                             items["orgs"], items["org_levels"]):
                self.sides[side].append(item_id, vector, level, self._org_codes.setdefault(org, len(self._org_codes)),
                                        org_level)
            own = self.sides[side]
            if own.ids:
                own.index = VectorIndex(method=self.method).build(own.ids, own.vectors[:len(own.ids)],
                                                                  own.levels[:len(own.ids)])
        self.matches_, self._held_by = {}, {}
        for side in SIDES:
            own, other = self.sides[side], self.sides[_other(side)]
            n, m = len(own.ids), len(other.ids)
            for start in range(0, n, block_size):
                stop = min(n, start + block_size)
                scores = own.vectors[start:stop] @ other.vectors[:m].T
                allowed = ((own.orgs[start:stop, None] != other.orgs[None, :m])
                           & (other.levels[None, :m] <= own.org_levels[start:stop, None])
                           & (own.levels[start:stop, None] <= other.org_levels[None, :m]))
                scores[~allowed] = -np.inf
                for row in range(stop - start):
                    partners = self._partners(side, own.orgs[start + row])
                    if partners is not None:
                        scores[row, np.isin(other.orgs[:m], partners)] = -np.inf
                k = min(self.top_k, m)
                best = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.zeros((stop - start, 0), int)
                for row, columns in enumerate(best):
                    entries = sorted(((float(scores[row, c]), other.ids[c]) for c in columns
                                      if scores[row, c] > -np.inf), key=_order)
                    self._set(side, own.ids[start + row], entries)
        return self

    def publish(self, side, item_id, vector, *, level, org, org_level):
        """Add one item, compute its matches and insert it into the lists it now belongs to.

        Returns
        -------
        list of (str, float)
            Other-side items whose lists now contain the new item, with the score (for notices).
        """
        if side not in SIDES:
            raise InputError(f"side must be one of {SIDES}; got {side!r}")
        own = self.sides[side]
        if item_id in own.position and own.active[own.position[item_id]]:
            self.withdraw(side, item_id)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        own.append(item_id, vector, level, self._org_codes.setdefault(org, len(self._org_codes)), org_level)
        if own.index is None:
            own.index = VectorIndex(method=self.method).build([item_id], vector[None, :], [level])
        else:
            own.index.add([item_id], vector[None, :], [level])
        other = self.sides[_other(side)]
        if not other.ids:
            self._set(side, item_id, [])
            return []
        row, allowed = self.scores(side, item_id), self._allowed(side, item_id)
        # The row is needed anyway for the lists the item enters; with exact search it also gives the
        # item's own top-k, so only HNSW libraries search their index here.
        self._set(side, item_id, _top(row, allowed, other.ids, self.top_k) if self.method == "exact"
                  else self._search(side, item_id))
        return self._insert_into_others(side, item_id, row, allowed)

    def withdraw(self, side, item_id):
        """Remove an item from the library and from every list; refill only the lists it left.

        Returns
        -------
        list of str
            Other-side items whose lists were refilled.
        """
        own, other_side = self.sides[side], _other(side)
        position = own.position.get(item_id)
        if position is None or not own.active[position]:
            raise InputError(f"{side} {item_id!r} is not in the library")
        own.active[position] = False
        own.index.withdraw([item_id])
        self._set(side, item_id, None)
        refilled = sorted(self._held_by.pop((side, item_id), set()), key=str)
        for other_id in refilled:
            self._set(other_side, other_id, self._search(other_side, other_id))
        return refilled

    def search(self, side, item_id, *, with_excluded=False):
        """The item's ``top_k`` allowed matches computed now from the index, best first.

        With ``with_excluded=True`` pairs of organisations passed to :meth:`exclude` count too (what the
        list would be without that history); the stored ``matches_`` never contain them.

        Returns
        -------
        list of (float, object)
        """
        own = self.sides[side]
        if item_id not in own.position or not own.active[own.position[item_id]]:
            raise InputError(f"{side} {item_id!r} is not in the library")
        return self._search(side, item_id, with_excluded=with_excluded)

    def scores(self, side, item_id):
        """Similarities of the item to every position of the other side (one row; no rules applied)."""
        own, other = self.sides[side], self.sides[_other(side)]
        return other.vectors[:len(other.ids)] @ own.vectors[own.position[item_id]]

    def _allowed(self, side, item_id, *, with_excluded=False):
        """Mask over the other side's positions: active, another organisation, tiers both ways, and
        (unless ``with_excluded``) not an organisation this item's organisation may no longer meet."""
        own, other = self.sides[side], self.sides[_other(side)]
        p, n = own.position[item_id], len(other.ids)
        allowed = (other.active[:n] & (other.orgs[:n] != own.orgs[p])
                   & (other.levels[:n] <= own.org_levels[p]) & (own.levels[p] <= other.org_levels[:n]))
        partners = None if with_excluded else self._partners(side, own.orgs[p])
        if partners is not None:
            allowed &= ~np.isin(other.orgs[:n], partners)
        return allowed

    def _partners(self, side, org_code):
        partners = self._excluded.get((side, int(org_code)))
        return np.fromiter(partners, dtype=np.int64, count=len(partners)) if partners else None

    def _search(self, side, item_id, *, with_excluded=False):
        """The item's top_k allowed matches: search the other side's index per visible tier, deepening as needed."""
        own, other = self.sides[side], self.sides[_other(side)]
        if other.index is None:
            return []
        p = own.position[item_id]
        allowed = self._allowed(side, item_id, with_excluded=with_excluded)
        found = {}
        for level in other.index.levels():
            if level > own.org_levels[p]:
                continue
            depth = self.top_k
            while True:  # deepen until k allowed items of this tier are found or the tier is exhausted
                labels, similarities = other.index.search(own.vectors[p][None, :], depth, level)
                kept = [(other.index.ids_[label], float(similarity)) for label, similarity
                        in zip(labels[0], similarities[0]) if label >= 0
                        and allowed[other.position[other.index.ids_[label]]]]
                if len(kept) >= self.top_k or (labels[0] < 0).any() or depth >= len(other.ids):
                    break
                depth *= 4
            found.update(kept)
        best = sorted(((score, other_id) for other_id, score in found.items()), key=_order)
        return best[:self.top_k]

    def _insert_into_others(self, side, item_id, row, allowed):
        other_side = _other(side)
        other = self.sides[other_side]
        n = len(other.ids)
        # Only lists whose k-th score the new item reaches can change (ties resolved by id below).
        reached = np.flatnonzero(allowed & (row >= other.kth[:n]))
        entered = []
        for position in reached:
            other_id, score = other.ids[position], float(row[position])
            entries = sorted(self.matches_.get((other_side, other_id), []) + [(score, item_id)], key=_order)
            if (score, item_id) in entries[:self.top_k]:
                self._set(other_side, other_id, entries[:self.top_k])
                entered.append((other_id, score))
        return entered

    def _set(self, side, item_id, entries):
        """Replace an item's list (None: drop it), keeping the reverse map and the k-th score in step."""
        key, other_side = (side, item_id), _other(side)
        for _score, other_id in self.matches_.get(key, []):
            self._held_by.get((other_side, other_id), set()).discard(item_id)
        if entries is None:
            self.matches_.pop(key, None)
            return
        self.matches_[key] = entries
        for _score, other_id in entries:
            self._held_by.setdefault((other_side, other_id), set()).add(item_id)
        own = self.sides[side]
        own.kth[own.position[item_id]] = entries[-1][0] if len(entries) >= self.top_k else -np.inf


def _order(entry):
    return -entry[0], str(entry[1])


def _top(row, allowed, ids, k):
    """The k best allowed positions of one row of similarities as ``[(score, id)]``, best first."""
    candidates = np.flatnonzero(allowed)
    if len(candidates) > k:
        # Keep every candidate tied with the k-th score so the id tie-break matches a full sort.
        kth = np.partition(row[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[row[candidates] >= kth]
    return sorted(((float(row[c]), ids[c]) for c in candidates), key=_order)[:k]


def _other(side):
    return "capability" if side == "need" else "need"
