"""Re-plan on the day: published meetings stay exactly where they are; only freed and empty places are filled.

A meeting is freed when it is marked a no-show or when one of its organisations is absent.
Standby pairs (candidates that were left out) may take any slot from ``from_slot`` on where both
organisations and a table are free; everything published and kept is locked at its slot and table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .schedule import MEETING_COLUMNS, UNSCHEDULED_COLUMNS, Schedule, schedule_meetings

__all__ = ["REASON_ABSENT", "REASON_NO_SHOW", "replan_meetings"]

REASON_NO_SHOW = "未到场（已释放时段）"
REASON_ABSENT = "一方未到场"


def _keys(frame):
    return list(zip(frame["need_id"].astype(str), frame["capability_id"].astype(str)))


def _availability(kept, orgs, slots, from_slot):
    """New meetings only from ``from_slot``; each organisation's kept meetings stay inside its slots."""
    rows = [(org, slot) for org in orgs for slot in range(from_slot, slots + 1)]
    rows += [(org, int(slot)) for side in ("need_org", "capability_org")
             for org, slot in zip(kept[side], kept["slot"]) if int(slot) < from_slot]
    return pd.DataFrame(sorted(set(rows)), columns=["org", "slot"])


def replan_meetings(published, standby, *, slots, tables, no_shows=None, absent=(), from_slot=1,
                    max_meetings=6, time_limit=10.0):
    """Fill freed slots from the standby list without moving any kept published meeting.

    Parameters
    ----------
    published : pandas.DataFrame
        The published meetings: ``slot``, ``table``, ``need_id``, ``capability_id``, ``need_org``,
        ``capability_org``, ``score``.
    standby : pandas.DataFrame
        Candidate pairs that could take a freed place, as for :func:`schedule_meetings` (``score``
        and optional ``weight``); pairs already published are ignored.
    slots, tables : int
        The event's grid.
    no_shows : pandas.DataFrame, optional
        ``need_id``, ``capability_id`` of published meetings that will not take place.
    absent : iterable of str, default ()
        Organisations not present: their published meetings are freed and they get no new ones.
    from_slot : int, default 1
        First slot new meetings may use (the next slot on the day).
    max_meetings : int or mapping, default 6
        As for :func:`schedule_meetings`; kept meetings count.
    time_limit : float, default 10.0
        Seconds for the solver.

    Returns
    -------
    Schedule
        ``meetings``: every kept published meeting at its slot and table (``locked`` True) and the
        new ones; ``unscheduled``: freed meetings (reason "未到场（已释放时段）" or "一方未到场") and
        every standby pair not seated, with its reason.

    Raises
    ------
    InputError
        Bad frames or grid, as for :func:`schedule_meetings`.

    Examples
    --------
    >>> plan = replan_meetings(published, standby, slots=8, tables=20, no_shows=marked, from_slot=4)
    >>> plan.meetings.locked.sum() == len(published) - len(marked)
    True
    """
    absent = {str(org) for org in absent}
    freed_keys = set(_keys(no_shows)) if no_shows is not None and len(no_shows) else set()
    gone = published["need_org"].isin(absent) | published["capability_org"].isin(absent)
    no_show = pd.Series([key in freed_keys for key in _keys(published)], index=published.index, dtype=bool)
    kept = published[~gone & ~no_show]
    freed = published[gone | no_show].assign(
        kind="pair", org=None, reason=[REASON_ABSENT if g else REASON_NO_SHOW for g in gone[gone | no_show]])
    taken = set(_keys(published))
    fresh = standby.loc[np.array([key not in taken for key in _keys(standby)], dtype=bool)]
    away = fresh["need_org"].isin(absent) | fresh["capability_org"].isin(absent)
    columns = ["need_id", "capability_id", "need_org", "capability_org", "score"]
    extra = [c for c in ("weight", "need_clearance", "capability_classification") if c in fresh.columns]
    pairs = pd.concat([kept[columns], fresh.loc[~away, columns + extra]], ignore_index=True)
    if "weight" in pairs.columns:
        pairs["weight"] = pairs["weight"].fillna(pairs["score"])
    for column in ("need_clearance", "capability_classification"):
        if column in pairs.columns:
            pairs[column] = pairs[column].fillna("无" if column == "need_clearance" else "公开")
    left = [freed.reindex(columns=UNSCHEDULED_COLUMNS),
            fresh.loc[away, columns].assign(kind="pair", org=None, reason=REASON_ABSENT)
            .reindex(columns=UNSCHEDULED_COLUMNS)]
    if pairs.empty:
        plan_meetings, plan_left, objective = pd.DataFrame(columns=MEETING_COLUMNS), pd.DataFrame(columns=UNSCHEDULED_COLUMNS), 0.0
        status, solve_seconds, fairness = "optimal", 0.0, 0
    else:
        orgs = sorted(set(pairs["need_org"]) | set(pairs["capability_org"]))
        plan = schedule_meetings(pairs, slots=slots, tables=tables, max_meetings=max_meetings,
                                 locked=kept[["need_id", "capability_id", "slot", "table"]] if len(kept) else None,
                                 availability=_availability(kept, orgs, slots, from_slot),
                                 time_limit=time_limit)
        plan_meetings, plan_left, objective = plan.meetings, plan.unscheduled, plan.objective
        status, solve_seconds, fairness = plan.status, plan.solve_seconds, plan.fairness_level
    unscheduled = pd.concat([frame for frame in [plan_left, *left] if len(frame)] or [plan_left],
                            ignore_index=True).reindex(columns=UNSCHEDULED_COLUMNS)
    return Schedule(plan_meetings.reset_index(drop=True), unscheduled, objective, float("nan"), float("nan"),
                    status, "", solve_seconds, slots, tables, fairness)
