"""Validate and encode schedule inputs: pairs, limits, availability, locks and vetoes.

Internal to :mod:`matcher.planning`. ``encode_inputs`` turns the caller's DataFrames into a
``_Problem`` with integer organisation and organisation-pair (edge) positions; the solver and
the slot colouring work on that, and :mod:`matcher.planning.schedule` decodes the result back to ids.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DataWarning, InfeasibleScheduleError, InputError, problem
from ..taxonomy import (
    CLASSIFICATIONS,
    CLEARANCES,
    clearance_allows,
    normalise_classification,
    normalise_clearance,
)

REQUIRED_COLUMNS = ("need_id", "capability_id", "need_org", "capability_org", "score")
REASON_VETOED = "已被否决"
REASON_SAME_ORG = "同一单位"
REASON_NO_COMMON_SLOT = "双方无共同空闲时段"
_MAX_LISTED = 20


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
    return problem(message, row=row, column=column, field=column, value=value)


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


def check_frame(frame, name, columns):
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
    check_frame(pairs, "pairs", REQUIRED_COLUMNS)
    frame, problems = pairs.copy(), []
    for column in REQUIRED_COLUMNS[:4]:
        frame[column] = _text_column(frame, column, problems, "pairs")
    score = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    bad = ~np.isfinite(score.to_numpy())
    for label, value in zip(frame.index[bad], pairs["score"].to_numpy()[bad]):
        problems.append(_problem_dict(label, "score", value, f"pairs row {label}: score "
                                      f"{_show(value)} is not a finite number"))
    frame["score"] = score
    if "weight" in frame.columns:
        # The planner's objective (e.g. wishes folded in by ``wishes.wish_weights``); "score" stays the match strength.
        weight = pd.to_numeric(frame["weight"], errors="coerce").astype(float)
        bad = ~np.isfinite(weight.to_numpy())
        for label, value in zip(frame.index[bad], pairs["weight"].to_numpy()[bad]):
            problems.append(_problem_dict(label, "weight", value, f"pairs row {label}: weight "
                                          f"{_show(value)} is not a finite number"))
        frame["weight"] = weight
    else:
        frame["weight"] = score
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
    check_frame(availability, "availability", ("org", "slot"))
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
        check_frame(vetoed, "vetoed", ("need_id", "capability_id"))
        keys = set(zip(vetoed["need_id"].astype(str).str.strip(),
                       vetoed["capability_id"].astype(str).str.strip()))
        hit = [key in keys for key in zip(frame["need_id"], frame["capability_id"])]
        reason[np.asarray(hit, dtype=bool)] = REASON_VETOED
    return reason


# --------------------------------------------------------------------------- locks


def _read_locks(frame, locked, slots, tables):
    check_frame(locked, "locked", ("need_id", "capability_id", "slot"))
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
    # Plain arrays: a frame.at lookup per lock and column cost most of a re-plan with hundreds of locks.
    need, capability = frame["need_id"].to_numpy(), frame["capability_id"].to_numpy()
    us, vs, reasons = frame["u"].to_numpy(), frame["v"].to_numpy(), frame["reason"].to_numpy()
    messages, by_org, by_org_slot, by_org_pair, by_slot, by_table = [], {}, {}, {}, {}, {}
    for pos, slot, table in rows:
        name, u, v = f"{need[pos]}/{capability[pos]}", us[pos], vs[pos]
        if reasons[pos]:
            messages.append(f"locked pair {name} cannot meet ({reasons[pos]}); "
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


def encode_inputs(pairs, *, slots, tables, max_meetings, min_meetings=0, availability=None,
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
        if rows:  # one vectorised write: a .loc write per lock made 540 locks cost seconds
            positions, lock_slots, lock_tables = (np.asarray(column) for column in zip(*rows))
            frame.loc[positions, "lock_slot"] = lock_slots - 1
            frame.loc[positions, "lock_table"] = lock_tables
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
    ok = ok.sort_values(["a", "b", "unlocked", "weight", "score", "need_id", "capability_id"],
                        ascending=[True, True, True, False, False, True, True], kind="stable")
    edge = ok.groupby(["a", "b"], sort=False).ngroup().to_numpy()
    frame["edge"] = -1
    frame.loc[ok.index, "edge"] = edge
    first = np.r_[True, edge[1:] != edge[:-1]] if len(edge) else np.zeros(0, bool)
    p.rep = ok.index.to_numpy()[first]
    p.eu = frame["u"].to_numpy()[p.rep]
    p.ev = frame["v"].to_numpy()[p.rep]
    p.weight = frame["weight"].to_numpy()[p.rep]
    p.lock_slot = frame["lock_slot"].to_numpy()[p.rep]
    p.bipartite = not (set(p.eu.tolist()) & set(p.ev.tolist()))
    p.enterprise = np.zeros(len(p.orgs), dtype=bool)
    p.enterprise[ok["u"].to_numpy()] = True


def edge_degrees(p, edges):
    n = len(p.orgs)
    return np.bincount(p.eu[edges], minlength=n) + np.bincount(p.ev[edges], minlength=n)


def meeting_ceilings(p):
    """Per organisation: how many meetings it could have at most, and whether it is an enterprise."""
    return np.minimum(p.cap, edge_degrees(p, slice(None))), p.enterprise


def lower_bounds(p, hard, level):
    ceiling, enterprise = meeting_ceilings(p)
    return np.maximum(hard, np.where(enterprise, np.minimum(level, ceiling), 0))


def fairness_of(p, edges):
    ceiling, enterprise = meeting_ceilings(p)
    count = edge_degrees(p, edges)
    short = enterprise & (count < ceiling)
    top = int(ceiling[enterprise].max()) if enterprise.any() else 0
    return int(count[short].min()) if short.any() else top
