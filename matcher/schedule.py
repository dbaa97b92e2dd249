"""Plan one-to-one meetings in fixed slots and at tables, optimally, and say why pairs were left out.

Encode, solve, decode:

1. Pairs are grouped by organisation pair. An organisation pair meets at most once, on its
   locked pair or else its best-scoring eligible pair. Ineligible pairs (vetoed, clearance,
   same organisation, no common free slot) get their reason here.
2. *Which* organisation pairs meet is a capacitated b-matching: an organisation meets at most
   ``min(max_meetings, its available slots)`` partners and all meetings fit in
   ``slots * tables``. With no organisation on both sides this is a network flow, so the linear
   programme has integral optima; HiGHS solves it, and its optimum bounds every schedule.
3. *When* they meet is an edge colouring with ``slots`` colours. A bipartite graph of maximum
   degree <= slots always has one, and it can be made equitable (slot sizes differ by at most
   one, so no slot needs more than ``ceil(meetings / slots) <= tables`` tables). A colouring
   attains the bound of step 2, which proves the schedule optimal.
4. Availability and locks can make step 3 fail. A time-indexed MILP over (organisation pair,
   slot) then solves the whole problem, and HiGHS's dual bound is reported with the gap.

Levels are lexicographic: first the total shortfall below ``min_meetings``, then (with
``fairness``) the fairness level, then the total score.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import maximum_flow

from matcher.errors import DataWarning, InfeasibleScheduleError, InputError
from matcher.taxonomy import (
    CLASSIFICATIONS,
    CLEARANCES,
    clearance_allows,
    normalise_classification,
    normalise_clearance,
)

__all__ = ["Schedule", "greedy_schedule", "schedule_meetings"]

REQUIRED_COLUMNS = ("need_id", "capability_id", "need_org", "capability_org", "score")
MEETING_COLUMNS = ["slot", "table", "need_id", "capability_id", "need_org", "capability_org",
                   "score", "locked"]
UNSCHEDULED_COLUMNS = ["kind", "need_id", "capability_id", "need_org", "capability_org", "org",
                       "score", "reason"]
REASON_VETOED = "已被否决"
REASON_SAME_ORG = "同一单位"
REASON_NO_COMMON_SLOT = "双方无共同空闲时段"
REASON_REPEAT = "双方已在其他需求/成果上会面（同一对单位不重复会面）"
REASON_SLOTS_FULL = "时段已满/双方无共同空闲时段"
REASON_CAPACITY = "得分低于已安排的会面（容量不足）"
_MAX_LISTED = 20
_LP_IPM_COLUMNS = 20000  # above this HiGHS's interior point + crossover beats dual simplex
_MAX_TIME_COLUMNS = 60_000  # larger time-indexed MILPs do not fit the memory and time budget


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A meeting plan and everything left out of it.

    Attributes
    ----------
    meetings : pandas.DataFrame
        One row per meeting, sorted by slot and table: ``slot`` and ``table`` (1-based ints),
        ``need_id``, ``capability_id``, ``need_org``, ``capability_org``, ``score``, ``locked``.
    unscheduled : pandas.DataFrame
        ``kind`` "pair" for every candidate pair that is not a meeting and "participant" for
        every organisation below its minimum, with ``need_id``, ``capability_id``, ``need_org``,
        ``capability_org``, ``org`` (participant rows), ``score`` and ``reason`` (Chinese).
    objective : float
        Total score of the meetings.
    bound : float
        Upper bound on the total score at the same shortfall and fairness level (NaN for
        heuristics).
    gap : float
        ``(bound - objective) / max(|objective|, 1e-9)``, 0 when optimal (NaN for heuristics).
    status : str
        "optimal", "feasible" (time limit), "infeasible" (some ``min_meetings`` cannot be met;
        the plan minimises the shortfall) or "heuristic".
    message : str
        What to relax, or why optimality is not proven; empty when there is nothing to say.
    solve_seconds : float
    slots, tables : int
        The event's grid.
    fairness_level : int
        Largest λ such that every enterprise has at least ``min(λ, its ceiling)`` meetings.
    """

    meetings: pd.DataFrame
    unscheduled: pd.DataFrame
    objective: float
    bound: float
    gap: float
    status: str
    message: str
    solve_seconds: float
    slots: int
    tables: int
    fairness_level: int


@dataclasses.dataclass
class _Problem:
    pairs: pd.DataFrame  # validated pairs + u, v, reason, lock_slot, lock_table, edge
    orgs: np.ndarray  # organisation names; the position is the organisation index
    maximum: np.ndarray  # max_meetings per organisation
    minimum: np.ndarray  # min_meetings per organisation
    cap: np.ndarray  # min(maximum, available slots)
    avail: np.ndarray | None  # bool (n_orgs, slots); None when everyone is always available
    slots: int
    tables: int
    eu: np.ndarray = None  # per organisation pair (edge): need-side organisation
    ev: np.ndarray = None  # capability-side organisation
    weight: np.ndarray = None  # score of the pair the meeting would use
    rep: np.ndarray = None  # position in ``pairs`` of that pair
    lock_slot: np.ndarray = None  # 0-based locked slot, -1 when free
    bipartite: bool = True
    enterprise: np.ndarray = None  # bool per organisation: need_org of an eligible pair


# --------------------------------------------------------------------------- validation


def _problem_dict(row, column, value, message):
    return {"file": None, "row": row, "column": column, "value": value, "message": message}


def _raise_problems(what, problems):
    shown = "; ".join(p["message"] for p in problems[:_MAX_LISTED])
    rest = len(problems) - _MAX_LISTED
    more = f"; and {rest} more" if rest > 0 else ""
    raise InputError(f"{what}: {shown}{more}", problems)


def _show(value):
    return repr(value.item() if isinstance(value, np.generic) else value)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_count(value, name, minimum=1):
    if not _is_int(value) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}; got {value!r}")


def _check_frame(frame, name, columns):
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{name} is missing column(s) {', '.join(map(repr, missing))}; "
                         f"required columns are {', '.join(columns)}")


def _text_column(frame, column, problems, name):
    values = frame[column]
    empty = (values.isna() | (values.astype(str).str.strip() == "")).to_numpy()
    for label, value in zip(frame.index[empty], values.to_numpy()[empty]):
        problems.append(_problem_dict(label, column, value,
                                      f"{name} row {label}: {column} is empty"))
    return values.astype(str).str.strip()


def _validate_pairs(pairs):
    _check_frame(pairs, "pairs", REQUIRED_COLUMNS)
    frame, problems = pairs.copy(), []
    for column in REQUIRED_COLUMNS[:4]:
        frame[column] = _text_column(frame, column, problems, "pairs")
    score = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    bad = ~np.isfinite(score.to_numpy())
    for label, value in zip(frame.index[bad], pairs["score"].to_numpy()[bad]):
        problems.append(_problem_dict(label, "score", value, f"pairs row {label}: score "
                                      f"{_show(value)} is not a finite number"))
    frame["score"] = score
    repeated = frame[frame.duplicated(["need_id", "capability_id"], keep=False)]
    for (need, capability), group in repeated.groupby(["need_id", "capability_id"], sort=False):
        problems.append(_problem_dict(group.index[0], "need_id", need,
                        f"pairs rows {', '.join(map(str, group.index))} repeat (need_id "
                        f"{need!r}, capability_id {capability!r}); keep one row per pair"))
    if {"need_clearance", "capability_classification"} <= set(frame.columns):
        _normalise_levels(frame, problems)
    if problems:
        _raise_problems("invalid pairs", problems)
    return frame.reset_index(drop=True)


def _normalise_levels(frame, problems):
    for column, normalise, allowed in (("need_clearance", normalise_clearance, CLEARANCES),
                                       ("capability_classification", normalise_classification,
                                        CLASSIFICATIONS)):
        canonical = frame[column].map(normalise)
        bad = canonical.isna().to_numpy()
        for label, value in zip(frame.index[bad], frame[column].to_numpy()[bad]):
            problems.append(_problem_dict(label, column, value, f"pairs row {label}: {column} "
                                          f"{_show(value)} is not one of {', '.join(allowed)}"))
        frame[column] = canonical


def _org_limits(value, name, orgs, default):
    if _is_int(value):
        _check_count(value, name, minimum=0)
        return np.full(len(orgs), int(value))
    if not isinstance(value, (Mapping, pd.Series)):
        raise InputError(f"{name} must be a non-negative int or a mapping organisation -> int; "
                         f"got {type(value).__name__}")
    limits, index = np.full(len(orgs), default), {org: i for i, org in enumerate(orgs)}
    bad = [f"{name}[{org!r}] must be an int >= 0; got {limit!r}"
           for org, limit in value.items() if not _is_int(limit) or limit < 0]
    if bad:
        raise InputError("; ".join(bad))
    unknown = [str(org) for org in value if str(org) not in index]
    if unknown:
        warnings.warn(f"{name} names organisations that are in no pair: {', '.join(unknown)}",
                      DataWarning, stacklevel=4)
    for org, limit in value.items():
        if str(org) in index:
            limits[index[str(org)]] = int(limit)
    return limits


def _availability(availability, index, slots):
    if availability is None:
        return None
    _check_frame(availability, "availability", ("org", "slot"))
    problems, orgs = [], availability["org"].astype(str).str.strip()
    slot = pd.to_numeric(availability["slot"], errors="coerce")
    bad = ~slot.isin(range(1, slots + 1)).to_numpy()
    for label, value in zip(availability.index[bad], availability["slot"].to_numpy()[bad]):
        problems.append(_problem_dict(label, "slot", value, f"availability row {label}: slot "
                                      f"{_show(value)} is not an int in 1..{slots}"))
    if problems:
        _raise_problems("invalid availability", problems)
    unknown = sorted(set(orgs) - set(index))
    if unknown:
        warnings.warn(f"availability lists organisations that are in no pair: "
                      f"{', '.join(unknown[:_MAX_LISTED])}", DataWarning, stacklevel=4)
    known = orgs.isin(index).to_numpy()
    if not known.any():
        return None
    rows = orgs[known].map(index).to_numpy()
    mask = np.ones((len(index), slots), dtype=bool)
    mask[np.unique(rows)] = False
    mask[rows, slot[known].astype(int).to_numpy() - 1] = True
    return mask


def _static_reasons(frame, vetoed):
    reason = np.full(len(frame), "", dtype=object)
    if {"need_clearance", "capability_classification"} <= set(frame.columns):
        for i, (c, k) in enumerate(zip(frame["need_clearance"],
                                       frame["capability_classification"])):
            if not clearance_allows(c, k):
                reason[i] = f"保密资质不足：企业资质 {c}，成果密级 {k}"
    reason[(frame["need_org"] == frame["capability_org"]).to_numpy()] = REASON_SAME_ORG
    if vetoed is not None:
        _check_frame(vetoed, "vetoed", ("need_id", "capability_id"))
        keys = set(zip(vetoed["need_id"].astype(str).str.strip(),
                       vetoed["capability_id"].astype(str).str.strip()))
        hit = [key in keys for key in zip(frame["need_id"], frame["capability_id"])]
        reason[np.asarray(hit, dtype=bool)] = REASON_VETOED
    return reason


# --------------------------------------------------------------------------- locks


def _read_locks(frame, locked, slots, tables):
    _check_frame(locked, "locked", ("need_id", "capability_id", "slot"))
    position = {key: i for i, key in enumerate(zip(frame["need_id"], frame["capability_id"]))}
    table = locked["table"] if "table" in locked.columns else pd.Series(np.nan, locked.index)
    problems, rows, seen = [], [], set()
    for label, need, capability, slot, tab in zip(locked.index, locked["need_id"],
                                                  locked["capability_id"], locked["slot"], table):
        key = (str(need).strip(), str(capability).strip())
        where = f"locked row {label}"
        slot, tab = pd.to_numeric(slot, errors="coerce"), pd.to_numeric(tab, errors="coerce")
        if key not in position:
            problems.append(_problem_dict(label, "need_id", key, f"{where}: pair (need_id "
                            f"{key[0]!r}, capability_id {key[1]!r}) is not a candidate pair"))
        elif key in seen:
            problems.append(_problem_dict(label, "need_id", key, f"{where}: pair (need_id "
                            f"{key[0]!r}, capability_id {key[1]!r}) is locked twice"))
        elif not (slot in range(1, slots + 1)):
            problems.append(_problem_dict(label, "slot", slot,
                                          f"{where}: slot {_show(slot)} is not an int in 1..{slots}"))
        elif not (pd.isna(tab) or tab in range(1, tables + 1)):
            problems.append(_problem_dict(label, "table", tab, f"{where}: table {_show(tab)} is not "
                                          f"empty or an int in 1..{tables}"))
        else:
            seen.add(key)
            rows.append((position[key], int(slot), 0 if pd.isna(tab) else int(tab)))
    if problems:
        _raise_problems("invalid locked meetings", problems)
    return rows


def _lock_conflicts(frame, rows, p):
    names = {pos: f"{frame.at[pos, 'need_id']}/{frame.at[pos, 'capability_id']}" for pos, _, _ in
             rows}
    messages, by_org, by_org_slot, by_org_pair, by_slot, by_table = [], {}, {}, {}, {}, {}
    for pos, slot, table in rows:
        name, u, v = names[pos], frame.at[pos, "u"], frame.at[pos, "v"]
        if frame.at[pos, "reason"]:
            messages.append(f"locked pair {name} cannot meet ({frame.at[pos, 'reason']}); "
                            "unlock it or lift the veto/clearance")
        for org in {u, v}:
            if p.avail is not None and not p.avail[org, slot - 1]:
                free = ", ".join(str(s + 1) for s in np.flatnonzero(p.avail[org]))
                messages.append(f"locked meeting {name} is in slot {slot} but {p.orgs[org]} is "
                                f"not available then (available: {free or 'none'}); move the "
                                "lock or change the availability")
            by_org.setdefault(org, []).append(name)
            by_org_slot.setdefault((org, slot), []).append(name)
        by_org_pair.setdefault((min(u, v), max(u, v)), [u, v]).append(name)
        by_slot.setdefault(slot, []).append(name)
        if table:
            by_table.setdefault((slot, table), []).append(name)
    messages += _lock_count_messages(p, by_org, by_org_slot, by_org_pair, by_slot, by_table)
    if messages:
        raise InfeasibleScheduleError("; ".join(messages))


def _lock_count_messages(p, by_org, by_org_slot, by_org_pair, by_slot, by_table):
    messages = []
    for org, names in by_org.items():
        if len(names) > p.slots:
            messages.append(f"locked meetings need {len(names)} slots for {p.orgs[org]} but the "
                            f"event has {p.slots}; unlock {len(names) - p.slots} or add slots")
        elif len(names) > p.maximum[org]:
            messages.append(f"locked meetings give {p.orgs[org]} {len(names)} meetings but its "
                            f"max_meetings is {p.maximum[org]}; raise max_meetings for "
                            f"{p.orgs[org]} or unlock {len(names) - p.maximum[org]}")
    for (org, slot), names in by_org_slot.items():
        if len(names) > 1 and len(by_org[org]) <= p.slots:
            messages.append(f"{p.orgs[org]} is locked into {len(names)} meetings in slot {slot} "
                            f"({', '.join(names)}); move all but one to other slots")
    for u, v, *names in by_org_pair.values():
        if len(names) > 1:
            messages.append(f"{p.orgs[u]} and {p.orgs[v]} are locked to meet {len(names)} times "
                            f"({', '.join(names)}); an organisation pair meets once, unlock "
                            f"{len(names) - 1}")
    for slot, names in by_slot.items():
        if len(names) > p.tables:
            messages.append(f"slot {slot} has {len(names)} locked meetings but only {p.tables} "
                            f"tables; move {len(names) - p.tables} or add tables")
    for (slot, table), names in by_table.items():
        if len(names) > 1:
            messages.append(f"table {table} in slot {slot} is locked for {len(names)} meetings "
                            f"({', '.join(names)}); give them different tables")
    return messages


# --------------------------------------------------------------------------- encoding


def _encode(pairs, *, slots, tables, max_meetings, min_meetings=0, availability=None,
            locked=None, vetoed=None):
    _check_count(slots, "slots")
    _check_count(tables, "tables")
    frame = _validate_pairs(pairs)
    orgs = np.array(sorted(set(frame["need_org"]) | set(frame["capability_org"])), dtype=object)
    index = {org: i for i, org in enumerate(orgs)}
    frame["u"] = frame["need_org"].map(index).to_numpy(dtype=np.int64)
    frame["v"] = frame["capability_org"].map(index).to_numpy(dtype=np.int64)
    maximum = _org_limits(max_meetings, "max_meetings", orgs, 6)
    minimum = _org_limits(min_meetings, "min_meetings", orgs, 0)
    if _is_int(min_meetings):
        minimum = np.minimum(minimum, maximum)  # a shared minimum never exceeds an org's cap
    over = np.flatnonzero(minimum > maximum)
    if len(over):
        raise InputError("; ".join(f"min_meetings for {orgs[i]} is {minimum[i]} but its "
                                   f"max_meetings is {maximum[i]}" for i in over[:_MAX_LISTED]))
    avail = _availability(availability, index, slots)
    cap = maximum if avail is None else np.minimum(maximum, avail.sum(axis=1))
    p = _Problem(frame, orgs, maximum, minimum, cap, avail, slots, tables)
    frame["reason"] = _static_reasons(frame, vetoed)
    frame["lock_slot"], frame["lock_table"] = -1, 0
    if locked is not None and len(locked):
        rows = _read_locks(frame, locked, slots, tables)
        _lock_conflicts(frame, rows, p)
        for pos, slot, table in rows:
            frame.loc[pos, ["lock_slot", "lock_table"]] = slot - 1, table
    if avail is not None:
        apart = ~(avail[frame["u"]] & avail[frame["v"]]).any(axis=1) & (frame["reason"] == "")
        frame.loc[apart, "reason"] = REASON_NO_COMMON_SLOT
    _build_edges(p)
    return p


def _build_edges(p):
    frame = p.pairs
    ok = frame[frame["reason"] == ""].assign(
        a=lambda f: np.minimum(f["u"], f["v"]), b=lambda f: np.maximum(f["u"], f["v"]),
        unlocked=lambda f: f["lock_slot"] < 0)
    ok = ok.sort_values(["a", "b", "unlocked", "score", "need_id", "capability_id"],
                        ascending=[True, True, True, False, True, True], kind="stable")
    edge = ok.groupby(["a", "b"], sort=False).ngroup().to_numpy()
    frame["edge"] = -1
    frame.loc[ok.index, "edge"] = edge
    first = np.r_[True, edge[1:] != edge[:-1]] if len(edge) else np.zeros(0, bool)
    p.rep = ok.index.to_numpy()[first]
    p.eu = frame["u"].to_numpy()[p.rep]
    p.ev = frame["v"].to_numpy()[p.rep]
    p.weight = frame["score"].to_numpy()[p.rep]
    p.lock_slot = frame["lock_slot"].to_numpy()[p.rep]
    p.bipartite = not (set(p.eu.tolist()) & set(p.ev.tolist()))
    p.enterprise = np.zeros(len(p.orgs), dtype=bool)
    p.enterprise[ok["u"].to_numpy()] = True


def _degree(p, edges):
    n = len(p.orgs)
    return np.bincount(p.eu[edges], minlength=n) + np.bincount(p.ev[edges], minlength=n)


def _ceilings(p):
    """Per organisation: how many meetings it could have at most, and whether it is an enterprise."""
    return np.minimum(p.cap, _degree(p, slice(None))), p.enterprise


def _lower(p, hard, level):
    ceiling, enterprise = _ceilings(p)
    return np.maximum(hard, np.where(enterprise, np.minimum(level, ceiling), 0))


def _fairness_of(p, edges):
    ceiling, enterprise = _ceilings(p)
    count = _degree(p, edges)
    short = enterprise & (count < ceiling)
    top = int(ceiling[enterprise].max()) if enterprise.any() else 0
    return int(count[short].min()) if short.any() else top


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
    ceiling, enterprise = _ceilings(p)
    low, high = 0, int(ceiling[enterprise].max()) if enterprise.any() else 0
    while low < high:
        mid = (low + high + 1) // 2
        if _feasible(p, _lower(p, hard, mid), floor, deadline, time_indexed=False):
            low = mid
        else:
            high = mid - 1
    return low


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


def _colour(p, chosen, rng, attempts=3):
    """Slot of every chosen edge (-1 where none was found); the fewest failures over attempts."""
    best, best_failed = None, None
    degree = _degree(p, chosen)
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


# --------------------------------------------------------------------------- solve


@dataclasses.dataclass
class _Outcome:
    edge_slot: np.ndarray  # 0-based slot per organisation pair, -1 when it does not meet
    bound: float
    optimal: bool
    note: str = ""  # why optimality is not proven, for the message


def _solve(p, *, fairness, deadline, rng):
    m = len(p.eu)
    if m == 0:
        return _Outcome(np.full(0, -1), 0.0, True)
    hard, floor = _minimum_stage(p, deadline, time_indexed=False)
    level = _fairness_level(p, hard, floor, deadline) if fairness else 0
    result = _optimise(_model(p, time_indexed=False, lower=_lower(p, hard, level),
                              objective="score", floor=floor), deadline)
    if result.x is None:
        return _Outcome(_greedy_slots(p), np.nan, False,
                        note="the time limit was reached before any exact plan; this is greedy")
    chosen = np.flatnonzero(result.x[:m] > 0.5)
    edge_slot = _colour(p, chosen, rng)
    if (edge_slot[chosen] >= 0).all():
        return _Outcome(edge_slot, result.bound, result.optimal,
                        note="" if result.optimal else "the time limit was reached")
    failed = int((edge_slot[chosen] < 0).sum())
    columns = int(_time_columns(p)[0].size)
    note = (f"availability/locks kept {failed} chosen meeting(s) out of every slot colouring "
            f"and the exact time-indexed model ({columns} columns) is too large, so the plan "
            "was repaired greedily")
    outcomes = [_Outcome(_greedy_slots(p, edge_slot), result.bound, False, note=note)]
    if columns <= _MAX_TIME_COLUMNS:
        exact = _solve_time_indexed(p, level if fairness else None, deadline)
        if exact is not None and exact.optimal:
            return exact
        outcomes[0].note = "the time limit was reached in the exact time-indexed model"
        outcomes += [exact] if exact is not None else []
    best = max(outcomes, key=lambda o: _rank(p, o.edge_slot, fairness))
    if _fairness_of(p, np.flatnonzero(best.edge_slot >= 0)) < level and fairness:
        best.bound = np.nan  # the aggregate bound holds only at the higher fairness level
    return best


def _rank(p, edge_slot, fairness):
    met = np.flatnonzero(edge_slot >= 0)
    shortfall = np.maximum(p.minimum - _degree(p, met), 0).sum()
    return (-shortfall, _fairness_of(p, met) if fairness else 0, p.weight[met].sum())


def _solve_time_indexed(p, level, deadline):
    """Exact (organisation pair, slot) MILP, from fairness ``level`` down until feasible."""
    hard, floor = _minimum_stage(p, deadline, time_indexed=True)
    for current in range(level, -1, -1) if level is not None else [0]:
        if time.perf_counter() >= deadline:
            return None
        lower = _lower(p, hard, current) if level is not None else hard
        model = _model(p, time_indexed=True, lower=lower, objective="score", floor=floor)
        result = _optimise(model, deadline)
        if result.x is not None:
            edge_slot = np.full(len(p.eu), -1)
            on = result.x[:len(model.col_edge)] > 0.5
            edge_slot[model.col_edge[on]] = model.col_slot[on]
            return _Outcome(edge_slot, result.bound, result.optimal,
                            note="" if result.optimal else "the time limit was reached in the "
                            "exact time-indexed model")
        if not result.infeasible:
            return None
    return None


def _greedy_slots(p, start=None):
    """Round robin over enterprises: best remaining partner, first slot where both are free.

    ``start`` (slot per organisation pair, -1 for none) seeds the schedule; locks are always in.
    """
    state = _Colouring(p)
    seeded = p.lock_slot if start is None else np.where(p.lock_slot >= 0, p.lock_slot, start)
    for e in np.flatnonzero(seeded >= 0):
        state.place(e, int(seeded[e]))
    count = _degree(p, np.flatnonzero(seeded >= 0))
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


# --------------------------------------------------------------------------- decode


def _assign_tables(p, met, slot):
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


def _meetings_frame(p, edge_slot):
    met = np.flatnonzero(edge_slot >= 0)
    rows = p.pairs.iloc[p.rep[met]]
    frame = pd.DataFrame({
        "slot": edge_slot[met].astype(int) + 1,
        "table": _assign_tables(p, met, edge_slot[met]).astype(int),
        "need_id": rows["need_id"].to_numpy(), "capability_id": rows["capability_id"].to_numpy(),
        "need_org": rows["need_org"].to_numpy(),
        "capability_org": rows["capability_org"].to_numpy(),
        "score": rows["score"].to_numpy(dtype=float),
        "locked": rows["lock_slot"].to_numpy() >= 0,
    }, columns=MEETING_COLUMNS)
    return frame.sort_values(["slot", "table"], kind="stable").reset_index(drop=True)


def _edge_reasons(p, edge_slot):
    """Why each organisation pair that does not meet was left out (Chinese, for organisers)."""
    met = np.flatnonzero(edge_slot >= 0)
    count = _degree(p, met)
    busy = np.zeros((len(p.orgs), p.slots), dtype=bool)
    busy[p.eu[met], edge_slot[met]] = True
    busy[p.ev[met], edge_slot[met]] = True
    full = np.bincount(edge_slot[met], minlength=p.slots) >= p.tables
    unmet = np.flatnonzero(edge_slot < 0)
    u, v = p.eu[unmet], p.ev[unmet]
    open_ = ~busy[u] & ~busy[v] & ~full
    if p.avail is not None:
        open_ &= p.avail[u] & p.avail[v]
    has_slot = open_.any(axis=1)
    full_u = count[u] >= p.maximum[u]
    full_v = ~full_u & (count[v] >= p.maximum[v])
    reason = np.full(len(p.eu), "", dtype=object)
    reason[unmet] = np.where(has_slot, REASON_CAPACITY, REASON_SLOTS_FULL)
    reason[unmet[full_u]] = [f"企业已达会面上限 {k} 场" for k in p.maximum[u[full_u]]]
    reason[unmet[full_v]] = [f"院所已达会面上限 {k} 场" for k in p.maximum[v[full_v]]]
    return reason


def _participant_rows(p, edge_slot):
    met = np.flatnonzero(edge_slot >= 0)
    count = _degree(p, met)
    partners = _degree(p, slice(None))
    available = p.avail.sum(axis=1) if p.avail is not None else np.full(len(p.orgs), p.slots)
    need_side = set(p.pairs["need_org"])
    rows = []
    for org in np.flatnonzero(count < p.minimum):
        if partners[org] < p.minimum[org]:
            why = f"可会面的候选单位只有 {partners[org]} 个"
        elif available[org] < p.minimum[org]:
            why = f"空闲时段只有 {available[org]} 个"
        else:
            why = "时段或桌位容量不足，或候选单位已满"
        name = p.orgs[org]
        rows.append({"kind": "participant", "org": name,
                     "need_org": name if name in need_side else None,
                     "capability_org": None if name in need_side else name, "score": np.nan,
                     "reason": f"会面 {count[org]} 场，少于最少 {p.minimum[org]} 场（{why}）"})
    return rows


def _unscheduled_frame(p, edge_slot):
    frame = p.pairs
    reason = frame["reason"].to_numpy(dtype=object).copy()
    edge = frame["edge"].to_numpy()
    scheduled = np.zeros(len(frame), dtype=bool)
    scheduled[p.rep[edge_slot >= 0]] = True
    has_edge = edge >= 0
    edge_reason = _edge_reasons(p, edge_slot)
    meets = np.zeros(len(frame), dtype=bool)
    meets[has_edge] = edge_slot[edge[has_edge]] >= 0
    reason[meets & ~scheduled] = REASON_REPEAT
    pending = has_edge & ~meets
    reason[pending] = edge_reason[edge[pending]]
    left = frame.loc[~scheduled, ["need_id", "capability_id", "need_org", "capability_org",
                                  "score"]].assign(kind="pair", org=None, reason=reason[~scheduled])
    out = pd.concat([left, pd.DataFrame(_participant_rows(p, edge_slot),
                                        columns=UNSCHEDULED_COLUMNS)], ignore_index=True) \
        if (_degree(p, np.flatnonzero(edge_slot >= 0)) < p.minimum).any() else left
    return out.reindex(columns=UNSCHEDULED_COLUMNS).reset_index(drop=True)


def _gap(objective, bound):
    if not np.isfinite(bound):
        return np.nan
    excess = bound - objective
    if excess <= 1e-6 * max(1.0, abs(objective)):
        return 0.0
    return float(excess / max(abs(objective), 1e-9))


def _message(p, outcome, gap, time_limit, edge_slot):
    met = np.flatnonzero(edge_slot >= 0)
    short = np.flatnonzero(_degree(p, met) < p.minimum)
    parts = []
    if len(short):
        count = _degree(p, met)
        listed = ", ".join(f"{p.orgs[o]} ({count[o]} of {p.minimum[o]})" for o in short[:10])
        more = f" and {len(short) - 10} more" if len(short) > 10 else ""
        parts.append(f"min_meetings cannot be met for {len(short)} organisation(s): {listed}"
                     f"{more}; lower min_meetings for them, add slots or tables, widen their "
                     "availability or give them more candidate pairs")
    if not outcome.optimal:
        within = (f"the plan is within {gap:.2%} of the bound" if np.isfinite(gap) else
                  "no bound holds at the plan's fairness level")
        parts.append(f"optimality not proven: {outcome.note or 'the time limit was reached'} "
                     f"(time_limit {time_limit:g} s); {within}; raise time_limit or relax "
                     "availability to close the gap")
    return "; ".join(parts)


def _decode(p, outcome, *, started, time_limit, heuristic=False):
    meetings = _meetings_frame(p, outcome.edge_slot)
    unscheduled = _unscheduled_frame(p, outcome.edge_slot)
    objective = float(meetings["score"].sum())
    met = np.flatnonzero(outcome.edge_slot >= 0)
    if heuristic:
        bound, gap, status, message = np.nan, np.nan, "heuristic", ""
    else:
        bound = float(outcome.bound)
        gap = _gap(objective, bound)
        message = _message(p, outcome, gap, time_limit, outcome.edge_slot)
        short = (_degree(p, met) < p.minimum).any()
        status = "infeasible" if short else "optimal" if outcome.optimal else "feasible"
    return Schedule(meetings, unscheduled, objective, bound, gap, status, message,
                    time.perf_counter() - started, p.slots, p.tables, _fairness_of(p, met))


# --------------------------------------------------------------------------- public API


def schedule_meetings(pairs, *, slots, tables, max_meetings=6, min_meetings=0, availability=None,
                      locked=None, vetoed=None, fairness=True, time_limit=60.0, random_state=0):
    """Schedule one-to-one meetings between enterprises and institutes, optimally.

    An organisation sits at one table per slot, meets each other organisation at most once
    (on the best-scoring of their candidate pairs, or the locked one) and has between
    ``min_meetings`` and ``max_meetings`` meetings. Levels are optimised lexicographically:
    (1) the total shortfall below ``min_meetings``; (2) with ``fairness``, the fairness level,
    the largest λ such that every enterprise gets at least ``min(λ, its ceiling)`` meetings,
    where the ceiling is the smallest of its maximum, its available slots and its number of
    eligible partner organisations (max-min, as in FairFlow); (3) the total pair score.

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per candidate pair: ``need_id``, ``capability_id``, ``need_org``,
        ``capability_org``, ``score`` (higher is better); optional ``need_clearance`` and
        ``capability_classification`` (pairs breaking ``clearance_allows`` never meet).
    slots, tables : int
        Number of time slots and of tables per slot (both >= 1).
    max_meetings, min_meetings : int or mapping, default 6 and 0
        Per-organisation limits; a dict or Series org -> int overrides the default for the
        organisations it lists. Minimums are met where feasible; shortfalls are reported.
    availability : pandas.DataFrame, optional
        Columns ``org``, ``slot``: the slots each listed organisation is available in.
        Organisations not listed are available in every slot.
    locked : pandas.DataFrame, optional
        ``need_id``, ``capability_id``, ``slot`` and optional ``table``: kept exactly.
    vetoed : pandas.DataFrame, optional
        ``need_id``, ``capability_id`` pairs that never meet.
    fairness : bool, default True
        Maximise the fairness level before the score.
    time_limit : float, default 60.0
        Seconds for the solver; past it the best schedule found is returned ("feasible").
    random_state : int, default 0
        Seeds the order of retried slot colourings (tie-breaking only).

    Returns
    -------
    Schedule
        ``meetings`` (slot, table, need_id, capability_id, need_org, capability_org, score,
        locked), ``unscheduled`` (every other candidate pair and every organisation below its
        minimum, each with a reason), ``objective``, ``bound``, ``gap``, ``status``, ``message``.

    Raises
    ------
    InputError
        Missing columns, empty ids, non-numeric scores, repeated pairs, bad limits or slots.
    InfeasibleScheduleError
        Locked meetings contradict each other or the rules; the message says what to relax.

    Examples
    --------
    >>> plan = schedule_meetings(pairs, slots=8, tables=32)
    >>> plan.status, len(plan.meetings)
    ('optimal', 240)
    """
    started = time.perf_counter()
    if not isinstance(time_limit, (int, float)) or not time_limit > 0:
        raise InputError(f"time_limit must be a positive number of seconds; got {time_limit!r}")
    p = _encode(pairs, slots=slots, tables=tables, max_meetings=max_meetings,
                min_meetings=min_meetings, availability=availability, locked=locked,
                vetoed=vetoed)
    outcome = _solve(p, fairness=bool(fairness), deadline=started + float(time_limit),
                     rng=np.random.default_rng(random_state))
    return _decode(p, outcome, started=started, time_limit=float(time_limit))


def greedy_schedule(pairs, *, slots, tables, max_meetings=6):
    """Schedule meetings the way commercial schedulers do: round robin by rank.

    Enterprises take turns (best top score first); each takes its best remaining partner
    organisation with spare capacity and the first slot where both are free and a table is
    left. Vetoes do not apply; clearance (when the columns are present) does.

    Parameters
    ----------
    pairs : pandas.DataFrame
        As for :func:`schedule_meetings`.
    slots, tables : int
        Number of time slots and of tables per slot.
    max_meetings : int or mapping, default 6
        Per-organisation maximum.

    Returns
    -------
    Schedule
        Same frames as :func:`schedule_meetings`; ``status`` is "heuristic" and ``bound`` and
        ``gap`` are NaN.

    Raises
    ------
    InputError
        As for :func:`schedule_meetings`.

    Examples
    --------
    >>> baseline = greedy_schedule(pairs, slots=8, tables=32)
    >>> baseline.status
    'heuristic'
    """
    started = time.perf_counter()
    p = _encode(pairs, slots=slots, tables=tables, max_meetings=max_meetings)
    edge_slot = _greedy_slots(p) if len(p.eu) else np.full(0, -1)
    return _decode(p, _Outcome(edge_slot, np.nan, False), started=started, time_limit=0.0,
                   heuristic=True)
