"""Solve the encoded schedule problem with HiGHS: minimums, fairness level, then score.

Internal to :mod:`matcher.planning.schedule`. The aggregate model (one column per organisation pair)
is a network flow when no organisation is on both sides, so its LP has integral optima; the
chosen meetings are then given slots by :mod:`matcher.planning.colouring`. When availability
or locks defeat the colouring, the time-indexed (organisation pair, slot) MILP decides.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import maximum_flow

from .colouring import colour_edges, greedy_slots
from .inputs import edge_degrees, fairness_of, lower_bounds, meeting_ceilings

_LP_IPM_COLUMNS = 20000  # above this HiGHS's interior point + crossover beats dual simplex
_MAX_TIME_COLUMNS = 60_000  # larger time-indexed MILPs do not fit the memory and time budget


# --------------------------------------------------------------------------- optimisation models


@dataclasses.dataclass
class _Model:
    c: np.ndarray  # objective to maximise
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    col_edge: np.ndarray
    col_slot: np.ndarray | None
    tu: bool  # totally unimodular: any vertex of the LP is integral


@dataclasses.dataclass
class _Result:
    x: np.ndarray | None
    value: float
    bound: float
    optimal: bool
    infeasible: bool = False


def _time_columns(p):
    m, slots = len(p.eu), p.slots
    if p.avail is None:
        allowed = np.ones((m, slots), dtype=bool)
    else:
        allowed = p.avail[p.eu] & p.avail[p.ev]
    locked = np.flatnonzero(p.lock_slot >= 0)
    allowed[locked] = False
    allowed[locked, p.lock_slot[locked]] = True
    return np.nonzero(allowed)


class _Rows:
    """Constraint rows ``lo <= A x <= hi`` collected block by block."""

    def __init__(self):
        self.rows, self.cols, self.vals, self.lo, self.hi, self.count = [], [], [], [], [], 0

    def add(self, rows, cols, lo, hi, vals=1.0):
        """Rows numbered from 0 within the block; ``lo``/``hi`` give one bound per block row."""
        lo, hi = np.atleast_1d(np.asarray(lo, float)), np.atleast_1d(np.asarray(hi, float))
        lo, hi = np.broadcast_arrays(lo, hi)
        self.rows.append(self.count + np.asarray(rows))
        self.cols.append(np.asarray(cols))
        self.vals.append(np.broadcast_to(np.asarray(vals, float), np.shape(rows)))
        self.lo.append(lo)
        self.hi.append(hi)
        self.count += len(lo)
        return self.count - len(lo)

    def matrix(self, n_cols):
        A = sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows),
                                                        np.concatenate(self.cols))),
                          shape=(self.count, n_cols))
        return A, np.concatenate(self.lo), np.concatenate(self.hi)


def _model(p, *, time_indexed, lower, objective, floor=None):
    """The aggregate (one column per organisation pair) or time-indexed (pair, slot) MILP.

    ``objective`` is "score", "tier" (count met minimums) or "none"; ``floor`` keeps the met
    minimums at or above a count found earlier.
    """
    m = len(p.eu)
    col_edge, col_slot = _time_columns(p) if time_indexed else (np.arange(m), None)
    k = len(col_edge)
    cols, u, v = np.arange(k), p.eu[col_edge], p.ev[col_edge]
    rows = _Rows()
    rows.add(np.r_[u, v], np.r_[cols, cols], np.where(lower > 0, lower, -np.inf), p.cap)
    if time_indexed:
        rows.add(col_edge, cols, np.full(m, -np.inf), 1.0)  # an organisation pair meets once
        keys, seat = np.unique(np.r_[u, v] * p.slots + np.r_[col_slot, col_slot],
                               return_inverse=True)
        rows.add(seat, np.r_[cols, cols], np.full(len(keys), -np.inf), 1.0)  # one seat a slot
        rows.add(col_slot, cols, np.full(p.slots, -np.inf), p.tables)
    else:
        rows.add(np.zeros(k, dtype=int), cols, -np.inf, p.slots * p.tables)
    tiers = np.flatnonzero(p.minimum > 0) if objective == "tier" or floor is not None else []
    n_tier = len(tiers)
    if n_tier:
        # t_v <= meetings of v and t_v <= min_meetings of v, so sum(t) counts met minimums.
        position = np.full(len(p.orgs), -1)
        position[tiers] = np.arange(n_tier)
        ends, both = np.r_[u, v], np.r_[cols, cols]
        hit = position[ends] >= 0
        tier_cols = k + np.arange(n_tier)
        rows.add(np.r_[position[ends[hit]], np.arange(n_tier)], np.r_[both[hit], tier_cols],
                 np.zeros(n_tier), np.inf, vals=np.r_[np.ones(hit.sum()), -np.ones(n_tier)])
        if floor is not None:
            rows.add(np.zeros(n_tier, dtype=int), tier_cols, floor - 1e-6, np.inf)
    A, lo, hi = rows.matrix(k + n_tier)
    c = np.zeros(k + n_tier)
    if objective == "score":
        c[:k] = p.weight[col_edge]
    elif objective == "tier":
        c[k:] = 1.0
    lb = np.r_[(p.lock_slot[col_edge] >= 0).astype(float), np.zeros(n_tier)]
    ub = np.r_[np.ones(k), p.minimum[tiers].astype(float)]
    integer = np.r_[np.ones(k, dtype=np.uint8), np.zeros(n_tier, dtype=np.uint8)]
    tu = not time_indexed and p.bipartite and floor is None
    return _Model(c, A, lo, hi, lb, ub, integer, col_edge, col_slot, tu)


def _remaining(deadline):
    return max(deadline - time.perf_counter(), 0.05)


def _optimise(model, deadline):
    """Maximise ``model.c @ x``: LP when the matrix is totally unimodular, else MILP."""
    if model.tu:
        result = _optimise_lp(model, deadline)
        if result is not None:
            return result
    if time.perf_counter() >= deadline:
        return _Result(None, np.nan, np.nan, False)
    r = milp(-model.c, constraints=LinearConstraint(model.A, model.lo, model.hi),
             integrality=model.integer, bounds=Bounds(model.lb, model.ub),
             options={"time_limit": _remaining(deadline), "disp": False, "mip_rel_gap": 1e-7})
    dual = getattr(r, "mip_dual_bound", None)
    if r.x is None:
        return _Result(None, np.nan, np.nan, False, infeasible=r.status == 2)
    x = np.where(model.integer == 1, np.round(r.x), r.x)
    value = float(model.c @ x)
    bound = value if dual is None or not np.isfinite(dual) else max(-float(dual), value)
    return _Result(x, value, bound, r.status == 0)


def _optimise_lp(model, deadline):
    # Ranged rows as equalities with bounded slacks: A x - s = 0, lo <= s <= hi (fewer rows
    # than splitting them into two inequalities, and faster for HiGHS's interior point).
    n_rows, n_cols = model.A.shape
    A_eq = sp.hstack([model.A, -sp.identity(n_rows, format="csr")]).tocsr()
    bounds = np.c_[np.r_[model.lb, model.lo], np.r_[model.ub, model.hi]]
    method = "highs-ipm" if n_cols > _LP_IPM_COLUMNS else "highs-ds"
    r = linprog(np.r_[-model.c, np.zeros(n_rows)], A_eq=A_eq, b_eq=np.zeros(n_rows),
                bounds=bounds, method=method, options={"time_limit": _remaining(deadline)})
    if r.status == 2:
        return _Result(None, np.nan, np.nan, False, infeasible=True)
    if r.status != 0:
        return None
    x = r.x[:n_cols]
    if np.abs(x - np.round(x))[model.integer == 1].max(initial=0) > 1e-6:
        return None
    x = np.where(model.integer == 1, np.round(x), x)
    value = float(model.c @ x)
    return _Result(x, value, max(-float(r.fun), value), True)


def _flow_feasible(p, lower):
    """Whether degree bounds ``lower`` <= degree <= cap admit a b-matching (bipartite case)."""
    n, m = len(p.orgs), len(p.eu)
    source, sink, s2, t2 = n, n + 1, n + 2, n + 3
    ent, ins = np.unique(p.eu), np.unique(p.ev)
    if (lower[np.setdiff1d(np.arange(n), np.r_[ent, ins])] > 0).any():
        return False
    tails = np.r_[np.full(len(ent), source), p.eu, ins, [sink]]
    heads = np.r_[ent, p.ev, np.full(len(ins), sink), [source]]
    low = np.r_[lower[ent], (p.lock_slot >= 0).astype(int), lower[ins], [0]]
    high = np.r_[p.cap[ent], np.ones(m, dtype=int), p.cap[ins], [p.slots * p.tables]]
    if (low > high).any():
        return False
    # Lower bounds become node excesses served from a super source (standard reduction).
    excess = np.zeros(n + 4, dtype=np.int64)
    np.add.at(excess, heads, low)
    np.add.at(excess, tails, -low)
    pos, neg = np.flatnonzero(excess > 0), np.flatnonzero(excess < 0)
    tails = np.r_[tails, np.full(len(pos), s2), neg]
    heads = np.r_[heads, pos, np.full(len(neg), t2)]
    capacity = np.r_[high - low, excess[pos], -excess[neg]].astype(np.int32)
    graph = sp.csr_matrix((capacity, (tails, heads)), shape=(n + 4, n + 4))
    graph.eliminate_zeros()
    return maximum_flow(graph, s2, t2).flow_value == excess[pos].sum()


def _feasible(p, lower, floor, deadline, time_indexed):
    if not time_indexed and p.bipartite and floor is None:
        return _flow_feasible(p, lower)
    if time.perf_counter() >= deadline:
        return False
    result = _optimise(_model(p, time_indexed=time_indexed, lower=lower, objective="none",
                              floor=floor), deadline)
    return result.x is not None


def _minimum_stage(p, deadline, time_indexed):
    """Hard lower bounds when every minimum can be met, else the best count of met minimums."""
    none = np.zeros(len(p.orgs), dtype=int)
    if not p.minimum.any() or not len(p.eu):
        return none, None
    result = _optimise(_model(p, time_indexed=time_indexed, lower=none, objective="tier"),
                       deadline)
    if result.x is None:
        return none, None
    met = round(result.value)
    return (p.minimum.copy(), None) if met >= p.minimum.sum() else (none, met)


def _fairness_level(p, hard, floor, deadline):
    ceiling, enterprise = meeting_ceilings(p)
    low, high = 0, int(ceiling[enterprise].max()) if enterprise.any() else 0
    while low < high:
        mid = (low + high + 1) // 2
        if _feasible(p, lower_bounds(p, hard, mid), floor, deadline, time_indexed=False):
            low = mid
        else:
            high = mid - 1
    return low


# --------------------------------------------------------------------------- solve


@dataclasses.dataclass
class SolveOutcome:
    edge_slot: np.ndarray  # 0-based slot per organisation pair, -1 when it does not meet
    bound: float
    optimal: bool
    note: str = ""  # why optimality is not proven, for the message


def solve_encoded(p, *, fairness, deadline, rng):
    m = len(p.eu)
    if m == 0:
        return SolveOutcome(np.full(0, -1), 0.0, True)
    hard, floor = _minimum_stage(p, deadline, time_indexed=False)
    level = _fairness_level(p, hard, floor, deadline) if fairness else 0
    result = _optimise(_model(p, time_indexed=False, lower=lower_bounds(p, hard, level),
                              objective="score", floor=floor), deadline)
    if result.x is None:
        return SolveOutcome(greedy_slots(p), np.nan, False,
                        note="the time limit was reached before any exact plan; this is greedy")
    chosen = np.flatnonzero(result.x[:m] > 0.5)
    edge_slot = colour_edges(p, chosen, rng)
    if (edge_slot[chosen] >= 0).all():
        return SolveOutcome(edge_slot, result.bound, result.optimal,
                        note="" if result.optimal else "the time limit was reached")
    failed = int((edge_slot[chosen] < 0).sum())
    columns = int(_time_columns(p)[0].size)
    note = (f"availability/locks kept {failed} chosen meeting(s) out of every slot colouring "
            f"and the exact time-indexed model ({columns} columns) is too large, so the plan "
            "was repaired greedily")
    outcomes = [SolveOutcome(greedy_slots(p, edge_slot), result.bound, False, note=note)]
    if columns <= _MAX_TIME_COLUMNS:
        exact = _solve_time_indexed(p, level if fairness else None, deadline)
        if exact is not None and exact.optimal:
            return exact
        outcomes[0].note = "the time limit was reached in the exact time-indexed model"
        outcomes += [exact] if exact is not None else []
    best = max(outcomes, key=lambda o: _rank(p, o.edge_slot, fairness))
    if fairness_of(p, np.flatnonzero(best.edge_slot >= 0)) < level and fairness:
        best.bound = np.nan  # the aggregate bound holds only at the higher fairness level
    return best


def _rank(p, edge_slot, fairness):
    met = np.flatnonzero(edge_slot >= 0)
    shortfall = np.maximum(p.minimum - edge_degrees(p, met), 0).sum()
    return (-shortfall, fairness_of(p, met) if fairness else 0, p.weight[met].sum())


def _solve_time_indexed(p, level, deadline):
    """Exact (organisation pair, slot) MILP, from fairness ``level`` down until feasible."""
    hard, floor = _minimum_stage(p, deadline, time_indexed=True)
    for current in range(level, -1, -1) if level is not None else [0]:
        if time.perf_counter() >= deadline:
            return None
        lower = lower_bounds(p, hard, current) if level is not None else hard
        model = _model(p, time_indexed=True, lower=lower, objective="score", floor=floor)
        result = _optimise(model, deadline)
        if result.x is not None:
            edge_slot = np.full(len(p.eu), -1)
            on = result.x[:len(model.col_edge)] > 0.5
            edge_slot[model.col_edge[on]] = model.col_slot[on]
            return SolveOutcome(edge_slot, result.bound, result.optimal,
                            note="" if result.optimal else "the time limit was reached in the "
                            "exact time-indexed model")
        if not result.infeasible:
            return None
    return None
