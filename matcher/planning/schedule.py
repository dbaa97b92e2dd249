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

import numpy as np
import pandas as pd

from ..errors import InputError
from .colouring import assign_tables, greedy_slots
from .inputs import (  # noqa: F401  (REASON_* and REQUIRED_COLUMNS are re-exported)
    REASON_NO_COMMON_SLOT,
    REASON_SAME_ORG,
    REASON_VETOED,
    REQUIRED_COLUMNS,
    edge_degrees,
    encode_inputs,
    fairness_of,
)
from .solver import SolveOutcome, solve_encoded

__all__ = ["Schedule", "greedy_schedule", "schedule_meetings"]

MEETING_COLUMNS = ["slot", "table", "need_id", "capability_id", "need_org", "capability_org",
                   "score", "locked", "topics"]
UNSCHEDULED_COLUMNS = ["kind", "need_id", "capability_id", "need_org", "capability_org", "org",
                       "score", "reason"]
REASON_SLOTS_FULL = "时段已满/双方无共同空闲时段"
REASON_CAPACITY = "得分低于已安排的会面（容量不足）"


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A meeting plan and everything left out of it.

    Attributes
    ----------
    meetings : pandas.DataFrame
        One row per meeting, sorted by slot and table: ``slot`` and ``table`` (1-based ints),
        ``need_id``, ``capability_id``, ``need_org``, ``capability_org``, ``score``, ``locked``
        and ``topics``: the other candidate pairs of the same two organisations, discussed in the
        same meeting (a list of ``(need_id, capability_id)``; two organisations meet once).
    unscheduled : pandas.DataFrame
        ``kind`` "pair" for every candidate pair that is neither a meeting nor one of its topics, and "participant" for
        every organisation below its minimum, with ``need_id``, ``capability_id``, ``need_org``,
        ``capability_org``, ``org`` (participant rows), ``score`` and ``reason`` (Chinese).
    objective : float
        Total weight of the meetings (their score, or the pairs' ``weight`` column when given).
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



# --------------------------------------------------------------------------- decode



def _topics(p, met):
    """For each met organisation pair, its other eligible candidate pairs (merged into the one meeting)."""
    frame = p.pairs
    merged = {}
    rep = set(p.rep[met].tolist())
    members = frame.index[(frame["edge"] >= 0)].to_numpy()
    edges = frame["edge"].to_numpy()
    for position in members:
        if position not in rep:
            merged.setdefault(edges[position], []).append(
                (frame.at[position, "need_id"], frame.at[position, "capability_id"]))
    return [merged.get(e, []) for e in met]


def _meetings_frame(p, edge_slot):
    met = np.flatnonzero(edge_slot >= 0)
    rows = p.pairs.iloc[p.rep[met]]
    frame = pd.DataFrame({
        "slot": edge_slot[met].astype(int) + 1,
        "table": assign_tables(p, met, edge_slot[met]).astype(int),
        "need_id": rows["need_id"].to_numpy(), "capability_id": rows["capability_id"].to_numpy(),
        "need_org": rows["need_org"].to_numpy(),
        "capability_org": rows["capability_org"].to_numpy(),
        "score": rows["score"].to_numpy(dtype=float),
        "locked": rows["lock_slot"].to_numpy() >= 0,
        "topics": _topics(p, met),
    }, columns=MEETING_COLUMNS)
    return frame.sort_values(["slot", "table"], kind="stable").reset_index(drop=True)


def _edge_reasons(p, edge_slot):
    """Why each organisation pair that does not meet was left out (Chinese, for organisers)."""
    met = np.flatnonzero(edge_slot >= 0)
    count = edge_degrees(p, met)
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
    count = edge_degrees(p, met)
    partners = edge_degrees(p, slice(None))
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
    covered = scheduled | meets  # a topic of a meeting is scheduled, not left out
    pending = has_edge & ~meets
    reason[pending] = edge_reason[edge[pending]]
    left = frame.loc[~covered, ["need_id", "capability_id", "need_org", "capability_org",
                                "score"]].assign(kind="pair", org=None, reason=reason[~covered])
    out = pd.concat([left, pd.DataFrame(_participant_rows(p, edge_slot),
                                        columns=UNSCHEDULED_COLUMNS)], ignore_index=True) \
        if (edge_degrees(p, np.flatnonzero(edge_slot >= 0)) < p.minimum).any() else left
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
    short = np.flatnonzero(edge_degrees(p, met) < p.minimum)
    parts = []
    if len(short):
        count = edge_degrees(p, met)
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
    met = np.flatnonzero(outcome.edge_slot >= 0)
    objective = float(p.weight[met].sum())  # in the solver's units, so the bound and gap compare
    if heuristic:
        bound, gap, status, message = np.nan, np.nan, "heuristic", ""
    else:
        bound = float(outcome.bound)
        gap = _gap(objective, bound)
        message = _message(p, outcome, gap, time_limit, outcome.edge_slot)
        short = (edge_degrees(p, met) < p.minimum).any()
        status = "infeasible" if short else "optimal" if outcome.optimal else "feasible"
    return Schedule(meetings, unscheduled, objective, bound, gap, status, message,
                    time.perf_counter() - started, p.slots, p.tables, fairness_of(p, met))


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
        ``capability_org``, ``score`` (higher is better); optional ``weight`` (the objective
        instead of ``score``, e.g. from :func:`matcher.planning.wishes.wish_weights`), optional
        ``need_clearance`` and ``capability_classification`` (pairs breaking ``clearance_allows``
        never meet).
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
    p = encode_inputs(pairs, slots=slots, tables=tables, max_meetings=max_meetings,
                min_meetings=min_meetings, availability=availability, locked=locked,
                vetoed=vetoed)
    outcome = solve_encoded(p, fairness=bool(fairness), deadline=started + float(time_limit),
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
    p = encode_inputs(pairs, slots=slots, tables=tables, max_meetings=max_meetings)
    edge_slot = greedy_slots(p) if len(p.eu) else np.full(0, -1)
    return _decode(p, SolveOutcome(edge_slot, np.nan, False), started=started, time_limit=0.0,
                   heuristic=True)
