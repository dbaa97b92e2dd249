"""Give chosen meetings slots and tables: edge colouring, greedy repair, table assignment.

Internal to :mod:`matcher.planning.schedule`. Works on the ``_Problem`` from
:mod:`matcher.planning.inputs`; a slot per organisation pair is -1 when it does not meet.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import edge_degrees

# --------------------------------------------------------------------------- slot colouring


class _Colouring:
    """A proper colouring of meetings (edges) with slots (colours), at most ``tables`` per slot.

    Placement takes the least loaded common free slot; when there is none, an alternating
    (Kempe) path is flipped, which always succeeds for bipartite graphs of max degree <= slots.
    ``balance`` then swaps alternating paths until no slot exceeds ``tables`` (de Werra).
    """

    def __init__(self, p):
        self.p = p
        self.busy = [{} for _ in range(len(p.orgs))]
        self.slot = np.full(len(p.eu), -1)
        self.members = [set() for _ in range(p.slots)]
        self.everywhere = range(p.slots)

    def allowed(self, e):
        p = self.p
        if p.lock_slot[e] >= 0:
            return [int(p.lock_slot[e])]
        if p.avail is None:
            return self.everywhere
        return np.flatnonzero(p.avail[p.eu[e]] & p.avail[p.ev[e]]).tolist()

    def place(self, e, s):
        self.slot[e] = s
        self.busy[self.p.eu[e]][s] = e
        self.busy[self.p.ev[e]][s] = e
        self.members[s].add(e)

    def lift(self, e):
        s = self.slot[e]
        del self.busy[self.p.eu[e]][s], self.busy[self.p.ev[e]][s]
        self.members[s].discard(e)
        self.slot[e] = -1

    def colour(self, e):
        u, v = self.p.eu[e], self.p.ev[e]
        allowed = self.allowed(e)
        free = [s for s in allowed if s not in self.busy[u] and s not in self.busy[v]]
        if free:
            self.place(e, min(free, key=lambda s: (len(self.members[s]), s)))
            return True
        return self._kempe(e, allowed)

    def _kempe(self, e, allowed):
        u, v = self.p.eu[e], self.p.ev[e]
        by_load = sorted(allowed, key=lambda s: (len(self.members[s]), s))
        free_u = [s for s in by_load if s not in self.busy[u]][:8]
        free_v = [s for s in by_load if s not in self.busy[v]][:8]
        for a in free_u:
            for b in free_v:
                path, nodes = self._chain(v, a, b)
                if u not in nodes and self._flippable(path, a, b):
                    self._flip(path, a, b)
                    self.place(e, a)
                    return True
        return False

    def _chain(self, node, a, b):
        path, nodes, colour = [], {node}, a
        while colour in self.busy[node]:
            e = self.busy[node][colour]
            path.append(e)
            node = self.p.ev[e] if self.p.eu[e] == node else self.p.eu[e]
            nodes.add(node)
            colour = b if colour == a else a
        return path, nodes

    def _flippable(self, path, a, b):
        return all(self.p.lock_slot[e] < 0 and (b if self.slot[e] == a else a) in self.allowed(e)
                   for e in path)

    def _flip(self, path, a, b):
        new = [b if self.slot[e] == a else a for e in path]
        for e in path:
            self.lift(e)
        for e, s in zip(path, new):
            self.place(e, s)

    def balance(self):
        tables = self.p.tables
        while True:
            a = max(range(self.p.slots), key=lambda s: (len(self.members[s]), -s))
            if len(self.members[a]) <= tables:
                return True
            spare = sorted((s for s in range(self.p.slots) if len(self.members[s]) < tables),
                           key=lambda s: (len(self.members[s]), s))
            if not any(self._shift(a, b) for b in spare):
                return False

    def _shift(self, a, b):
        """Flip one a/b component with one more a-edge than b-edges; False when none can move."""
        seen = set()
        for e in list(self.members[a]):
            if e in seen:
                continue
            component = self._component(e, b)
            seen.update(component)
            n_a = sum(self.slot[f] == a for f in component)
            if 2 * n_a > len(component) and self._flippable(component, a, b):
                self._flip(component, a, b)
                return True
        return False

    def _component(self, e, b):
        """The alternating path or cycle through edge ``e`` in colours slot[e] and ``b``."""
        a, component, members = self.slot[e], [e], {e}
        for node in (self.p.eu[e], self.p.ev[e]):
            colour = b
            while (f := self.busy[node].get(colour)) is not None and f not in members:
                component.append(f)
                members.add(f)
                node = self.p.ev[f] if self.p.eu[f] == node else self.p.eu[f]
                colour = a if colour == b else b
        return component

    def drop_overflow(self):
        """Unplace the lowest-scoring free meetings of every slot above the table limit."""
        dropped = []
        for s in range(self.p.slots):
            extra = len(self.members[s]) - self.p.tables
            free = sorted((e for e in self.members[s] if self.p.lock_slot[e] < 0),
                          key=lambda e: (self.p.weight[e], e))
            for e in free[:max(extra, 0)]:
                self.lift(e)
                dropped.append(e)
        return dropped


def colour_edges(p, chosen, rng, attempts=3):
    """Slot of every chosen edge (-1 where none was found); the fewest failures over attempts."""
    best, best_failed = None, None
    degree = edge_degrees(p, chosen)
    locked = chosen[p.lock_slot[chosen] >= 0]
    free = chosen[p.lock_slot[chosen] < 0]
    width = np.full(len(p.eu), p.slots) if p.avail is None else (
        p.avail[p.eu] & p.avail[p.ev]).sum(axis=1)
    hardest_first = free[np.lexsort((free, -(degree[p.eu[free]] + degree[p.ev[free]]),
                                     width[free]))]
    for attempt in range(attempts):
        order = hardest_first if attempt == 0 else rng.permutation(free)
        state = _Colouring(p)
        for e in locked:
            state.place(e, int(p.lock_slot[e]))
        failed = [e for e in order if not state.colour(e)]
        if not state.balance():
            failed += state.drop_overflow()
        if best is None or len(failed) < len(best_failed):
            best, best_failed = state.slot.copy(), failed
        if not failed:
            break
    return best


def greedy_slots(p, start=None):
    """Round robin over enterprises: best remaining partner, first slot where both are free.

    ``start`` (slot per organisation pair, -1 for none) seeds the schedule; locks are always in.
    """
    state = _Colouring(p)
    seeded = p.lock_slot if start is None else np.where(p.lock_slot >= 0, p.lock_slot, start)
    for e in np.flatnonzero(seeded >= 0):
        state.place(e, int(seeded[e]))
    count = edge_degrees(p, np.flatnonzero(seeded >= 0))
    by_org = {}
    for e in np.lexsort((np.arange(len(p.eu)), -p.weight)):
        if seeded[e] < 0:
            by_org.setdefault(p.eu[e], []).append(e)
    best = {org: p.weight[edges[0]] for org, edges in by_org.items()}
    # Fewest meetings first, so a seeded schedule is topped up where it is thinnest.
    queue = sorted(by_org, key=lambda org: (count[org], -best[org], p.orgs[org]))
    cursor = dict.fromkeys(queue, 0)
    while queue:
        queue = [org for org in queue if _greedy_take(p, state, count, by_org[org], cursor, org)]
    return state.slot


def _greedy_take(p, state, count, edges, cursor, org):
    while cursor[org] < len(edges) and count[org] < p.maximum[org]:
        e = edges[cursor[org]]
        cursor[org] += 1
        partner = p.ev[e]
        if count[partner] >= p.maximum[partner]:
            continue
        for s in state.allowed(e):
            if (s not in state.busy[org] and s not in state.busy[partner]
                    and len(state.members[s]) < p.tables):
                state.place(e, s)
                count[[org, partner]] += 1
                return True
    return False


# --------------------------------------------------------------------------- tables


def assign_tables(p, met, slot):
    """Tables within each slot; an institute keeps its home table where it can (locks first)."""
    institute = p.ev[met]
    lock_table = p.pairs["lock_table"].to_numpy()[p.rep[met]]
    counts = pd.Series(institute).value_counts()
    ranked = sorted(counts.index, key=lambda org: (-counts[org], p.orgs[org]))
    home = {org: i % p.tables + 1 for i, org in enumerate(ranked)}
    rank = {org: i for i, org in enumerate(ranked)}
    table = lock_table.copy()
    for s in np.unique(slot):
        here = np.flatnonzero(slot == s)
        taken = set(table[here][table[here] > 0].tolist())
        waiting = sorted((i for i in here if table[i] == 0), key=lambda i: rank[institute[i]])
        for i in waiting:
            if home[institute[i]] not in taken:
                table[i] = home[institute[i]]
                taken.add(table[i])
        spare = iter(t for t in range(1, p.tables + 1) if t not in taken)
        for i in waiting:
            if table[i] == 0:
                table[i] = next(spare)
    return table
