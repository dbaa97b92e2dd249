"""Tests for matcher.schedule: brute-force oracle, invariants, greedy baseline, lock errors."""
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InfeasibleScheduleError, InputError
from matcher.planning.schedule import greedy_schedule, schedule_meetings
from matcher.taxonomy import clearance_allows

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- instances


@st.composite
def instances(draw, max_enterprises=3, max_institutes=3, extras=True):
    n_e = draw(st.integers(1, max_enterprises))
    n_i = draw(st.integers(1, max_institutes))
    slots = draw(st.integers(2, 3))
    tables = draw(st.integers(1, 2))
    # Sometimes an organisation both brings needs and offers capabilities.
    institute = "企业{}" if extras and draw(st.integers(0, 4)) == 0 else "院所{}"
    rows = []
    for e, i in itertools.product(range(n_e), range(n_i)):
        if draw(st.booleans()):
            for k in range(draw(st.integers(1, 2))):
                rows.append({"need_id": f"N{e}.{k}", "capability_id": f"C{i}.{k}",
                             "need_org": f"企业{e}", "capability_org": institute.format(i),
                             "score": draw(st.integers(1, 20)) / 10})
    if not rows:
        rows.append({"need_id": "N0.0", "capability_id": "C0.0", "need_org": "企业0",
                     "capability_org": "院所0", "score": 1.0})
    pairs = pd.DataFrame(rows)
    orgs = sorted(set(pairs["need_org"]) | set(pairs["capability_org"]))
    kwargs = {"slots": slots, "tables": tables, "max_meetings": draw(st.integers(1, 3))}
    if extras and draw(st.booleans()):
        org = draw(st.sampled_from(orgs))
        kwargs["max_meetings"] = {org: draw(st.integers(0, 2))}
    if extras and draw(st.booleans()):
        kwargs["min_meetings"] = draw(st.integers(0, 1))
    if extras and draw(st.booleans()):
        kwargs["availability"] = pd.DataFrame(
            [{"org": org, "slot": s} for org in draw(st.lists(st.sampled_from(orgs), max_size=3,
                                                              unique=True))
             for s in range(1, slots + 1) if draw(st.booleans())], columns=["org", "slot"])
    if extras and draw(st.booleans()):
        chosen = draw(st.lists(st.integers(0, len(pairs) - 1), max_size=2, unique=True))
        kwargs["locked"] = pd.DataFrame(
            [{"need_id": pairs.at[r, "need_id"], "capability_id": pairs.at[r, "capability_id"],
              "slot": draw(st.integers(1, slots))} for r in chosen],
            columns=["need_id", "capability_id", "slot"])
    if extras and draw(st.booleans()):
        row = draw(st.integers(0, len(pairs) - 1))
        kwargs["vetoed"] = pairs.loc[[row], ["need_id", "capability_id"]]
    if extras and draw(st.booleans()):
        pairs["need_clearance"] = [draw(st.sampled_from(["无", "三级", "二级"])) for _ in rows]
        pairs["capability_classification"] = [draw(st.sampled_from(["公开", "秘密", "机密"]))
                                              for _ in rows]
    return pairs, kwargs


# --------------------------------------------------------------------------- oracle


def _available(kwargs, org):
    table = kwargs.get("availability")
    slots = range(1, kwargs["slots"] + 1)
    if table is None or org not in set(table["org"]):
        return set(slots)
    return set(table.loc[table["org"] == org, "slot"])


def _limit(kwargs, name, org, default):
    value = kwargs.get(name, default)
    return value.get(org, default) if isinstance(value, dict) else value


def _edges(pairs, kwargs):
    """Organisation pair -> (score, locked slot or None, allowed slots), as the rules define."""
    vetoed = set()
    if kwargs.get("vetoed") is not None:
        vetoed = set(zip(kwargs["vetoed"]["need_id"], kwargs["vetoed"]["capability_id"]))
    locks = {}
    if kwargs.get("locked") is not None:
        locks = {(n, c): s for n, c, s in zip(kwargs["locked"]["need_id"],
                                              kwargs["locked"]["capability_id"],
                                              kwargs["locked"]["slot"])}
    edges, enterprises = {}, set()
    for row in pairs.itertuples():
        lock = locks.get((row.need_id, row.capability_id))
        allowed = _available(kwargs, row.need_org) & _available(kwargs, row.capability_org)
        if ((row.need_id, row.capability_id) in vetoed or row.need_org == row.capability_org
                or not allowed or ("need_clearance" in pairs and not clearance_allows(
                    row.need_clearance, row.capability_classification))):
            if lock is not None:
                return None  # a locked pair that may not meet: no schedule keeps the locks
            continue
        key = tuple(sorted((row.need_org, row.capability_org)))
        enterprises.add(row.need_org)
        old = edges.get(key)
        if lock is not None:
            if (old is not None and old[1] is not None) or lock not in allowed:
                return None
            edges[key] = (row.score, lock, allowed)
        elif old is None or (old[1] is None and row.score > old[0]):
            edges[key] = (row.score, None, allowed)
    return edges, enterprises


def _slottable(chosen, edges, slots, tables):
    order = sorted(chosen, key=lambda k: len(edges[k][2]))
    busy, load = set(), [0] * (slots + 1)

    def place(i):
        if i == len(order):
            return True
        key = order[i]
        options = [edges[key][1]] if edges[key][1] is not None else sorted(edges[key][2])
        for s in options:
            if (key[0], s) in busy or (key[1], s) in busy or load[s] >= tables:
                continue
            busy.update({(key[0], s), (key[1], s)})
            load[s] += 1
            if place(i + 1):
                return True
            busy.difference_update({(key[0], s), (key[1], s)})
            load[s] -= 1
        return False
    return place(0)


def _key(counts, score, found, pairs, kwargs, fairness):
    orgs = set(pairs["need_org"]) | set(pairs["capability_org"])
    minimum = {o: min(_limit(kwargs, "min_meetings", o, 0), _limit(kwargs, "max_meetings", o, 6))
               for o in orgs}
    shortfall = sum(max(0, minimum[o] - counts.get(o, 0)) for o in orgs)
    level = 0
    if fairness:
        level = _fairness(counts, *found, kwargs)
    return (-shortfall, level, score)


def _fairness(counts, edges, enterprises, kwargs):
    ceiling = {}
    for org in enterprises:
        partners = sum(org in k for k in edges)
        ceiling[org] = min(_limit(kwargs, "max_meetings", org, 6),
                           len(_available(kwargs, org)), partners)
    short = [counts.get(o, 0) for o in enterprises if counts.get(o, 0) < ceiling[o]]
    return min(short) if short else max(ceiling.values(), default=0)


def brute_force(pairs, kwargs, fairness=True):
    """Best (−shortfall, fairness level, score) over every feasible schedule, or None."""
    found = _edges(pairs, kwargs)
    if found is None:
        return None
    edges = found[0]
    keys = list(edges)
    locked = [k for k in keys if edges[k][1] is not None]
    free = [k for k in keys if edges[k][1] is None]
    best = None
    for size in range(len(free) + 1):
        for subset in itertools.combinations(free, size):
            chosen = locked + list(subset)
            counts = {}
            for a, b in chosen:
                counts[a] = counts.get(a, 0) + 1
                counts[b] = counts.get(b, 0) + 1
            if any(c > _limit(kwargs, "max_meetings", o, 6) for o, c in counts.items()):
                continue
            if not _slottable(chosen, edges, kwargs["slots"], kwargs["tables"]):
                continue
            key = _key(counts, sum(edges[k][0] for k in chosen), found, pairs, kwargs, fairness)
            if best is None or key[:2] > best[:2] or (key[:2] == best[:2] and key[2] > best[2]):
                best = key
    return best


def locks_consistent(pairs, kwargs):
    """Whether the locked meetings alone form a valid schedule."""
    found = _edges(pairs, kwargs)
    if found is None:
        return False
    locked = [k for k, edge in found[0].items() if edge[1] is not None]
    counts = {}
    for org in itertools.chain.from_iterable(locked):
        counts[org] = counts.get(org, 0) + 1
    return (all(c <= _limit(kwargs, "max_meetings", o, 6) for o, c in counts.items())
            and _slottable(locked, found[0], kwargs["slots"], kwargs["tables"]))


def achieved(plan, pairs, kwargs, fairness=True):
    counts = {}
    for row in plan.meetings.itertuples():
        counts[row.need_org] = counts.get(row.need_org, 0) + 1
        counts[row.capability_org] = counts.get(row.capability_org, 0) + 1
    return _key(counts, plan.meetings["score"].sum(), _edges(pairs, kwargs), pairs, kwargs,
                fairness)


# --------------------------------------------------------------------------- invariants


def check_invariants(plan, pairs, kwargs):
    m, slots, tables = plan.meetings, kwargs["slots"], kwargs["tables"]
    assert m["slot"].between(1, slots).all() and m["table"].between(1, tables).all()
    assert not m.duplicated(["slot", "table"]).any()
    assert (m.groupby("slot").size() <= tables).all()
    seats = pd.concat([m[["slot", "need_org"]].set_axis(["slot", "org"], axis=1),
                       m[["slot", "capability_org"]].set_axis(["slot", "org"], axis=1)])
    assert not seats.duplicated().any(), "an organisation is double-booked"
    for org, count in seats["org"].value_counts().items():
        assert count <= _limit(kwargs, "max_meetings", org, 6)
        assert set(seats.loc[seats["org"] == org, "slot"]) <= _available(kwargs, org)
    org_pairs = [tuple(sorted(p)) for p in zip(m["need_org"], m["capability_org"])]
    assert len(org_pairs) == len(set(org_pairs)), "an organisation pair meets twice"
    met = set(zip(m["need_id"], m["capability_id"]))
    if kwargs.get("locked") is not None:
        for row in kwargs["locked"].itertuples():
            assert ((m["need_id"] == row.need_id) & (m["capability_id"] == row.capability_id)
                    & (m["slot"] == row.slot) & m["locked"]).sum() == 1
    if kwargs.get("vetoed") is not None:
        assert not met & set(zip(kwargs["vetoed"]["need_id"], kwargs["vetoed"]["capability_id"]))
    if "need_clearance" in pairs:
        merged = m.merge(pairs, on=["need_id", "capability_id"])
        assert all(map(clearance_allows, merged["need_clearance"],
                       merged["capability_classification"]))
    check_nothing_lost(plan, pairs)


def check_nothing_lost(plan, pairs):
    left = plan.unscheduled[plan.unscheduled["kind"] == "pair"]
    met = set(zip(plan.meetings["need_id"], plan.meetings["capability_id"]))
    topics = {tuple(t) for ts in plan.meetings["topics"] for t in ts}
    unplanned = set(zip(left["need_id"], left["capability_id"]))
    assert not met & unplanned and not topics & unplanned and not met & topics
    assert met | topics | unplanned == set(zip(pairs["need_id"], pairs["capability_id"]))
    assert len(left) == len(unplanned) and len(plan.meetings) == len(met)
    assert left["reason"].str.len().gt(0).all()
    orgs = {(n, c): (a, b) for n, c, a, b in zip(pairs["need_id"], pairs["capability_id"], pairs["need_org"],
                                                  pairs["capability_org"])}
    for row in plan.meetings.itertuples():  # a topic belongs to the same two organisations (either side)
        assert all(set(orgs[tuple(t)]) == {row.need_org, row.capability_org} for t in row.topics)


# --------------------------------------------------------------------------- oracle tests


@SETTINGS
@given(instances(), st.booleans())
def test_matches_brute_force(instance, fairness):
    pairs, kwargs = instance
    best = brute_force(pairs, kwargs, fairness)
    if best is None:
        with pytest.raises(InfeasibleScheduleError):
            schedule_meetings(pairs, fairness=fairness, **kwargs)
        return
    plan = schedule_meetings(pairs, fairness=fairness, **kwargs)
    got = achieved(plan, pairs, kwargs, fairness)
    assert got[:2] == best[:2]
    assert got[2] == pytest.approx(best[2], abs=1e-6)
    assert plan.status in ("optimal", "infeasible")
    assert plan.gap == pytest.approx(0.0, abs=1e-6)
    assert plan.bound == pytest.approx(plan.objective, abs=1e-6)
    assert (plan.status == "infeasible") == (best[0] < 0)
    check_invariants(plan, pairs, kwargs)


@SETTINGS
@given(instances(max_enterprises=6, max_institutes=5))
def test_invariants_on_larger_instances(instance):
    pairs, kwargs = instance
    try:
        plan = schedule_meetings(pairs, **kwargs)
    except InfeasibleScheduleError:
        assert not locks_consistent(pairs, kwargs)
        return
    check_invariants(plan, pairs, kwargs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_enterprises=5, max_institutes=5, extras=False))
def test_not_worse_than_greedy(instance):
    pairs, kwargs = instance
    greedy = greedy_schedule(pairs, **kwargs)
    check_invariants(greedy, pairs, kwargs)
    plain = schedule_meetings(pairs, fairness=False, **kwargs)
    assert plain.objective >= greedy.objective - 1e-9
    fair = schedule_meetings(pairs, **kwargs)
    assert (fair.fairness_level, fair.objective + 1e-9) >= (greedy.fairness_level,
                                                           greedy.objective)


# --------------------------------------------------------------------------- examples


def _pairs(rows):
    return pd.DataFrame(rows, columns=["need_id", "capability_id", "need_org", "capability_org",
                                       "score"])


def test_one_meeting_per_org_pair_takes_best_pair():
    pairs = _pairs([("N1", "C1", "甲企业", "乙所", 0.4), ("N2", "C2", "甲企业", "乙所", 0.9),
                    ("N1", "C3", "甲企业", "丙所", 0.5)])
    plan = schedule_meetings(pairs, slots=2, tables=2)
    assert set(zip(plan.meetings["need_id"], plan.meetings["capability_id"])) == {
        ("N2", "C2"), ("N1", "C3")}
    topics = dict(zip(plan.meetings["need_id"], plan.meetings["topics"]))
    assert topics == {"N2": [("N1", "C1")], "N1": []}  # the other topic is discussed in the same meeting
    assert plan.unscheduled.empty
    assert plan.status == "optimal" and plan.objective == pytest.approx(1.4)


def test_a_second_locked_pair_of_the_same_organisations_is_a_topic_never_dropped():
    pairs = _pairs([("N1", "C1", "甲企业", "乙所", 0.4), ("N2", "C2", "甲企业", "乙所", 0.9)])
    locked = pd.DataFrame({"need_id": ["N1", "N2"], "capability_id": ["C1", "C2"], "slot": [2, 2]})
    plan = schedule_meetings(pairs, slots=2, tables=1, locked=locked.iloc[:1])
    meeting = plan.meetings.iloc[0]
    assert (meeting["need_id"], meeting["capability_id"], meeting["slot"]) == ("N1", "C1", 2)
    assert meeting["topics"] == [("N2", "C2")] and plan.unscheduled.empty


def test_reasons_for_veto_clearance_same_org_and_cap():
    pairs = _pairs([("N1", "C1", "甲", "乙", 0.9), ("N1", "C2", "甲", "丙", 0.8),
                    ("N1", "C3", "甲", "甲", 0.7), ("N1", "C4", "甲", "丁", 0.6),
                    ("N1", "C5", "甲", "戊", 0.5)])
    pairs["need_clearance"] = "无"
    pairs["capability_classification"] = ["公开", "秘密", "公开", "公开", "公开"]
    vetoed = pd.DataFrame({"need_id": ["N1"], "capability_id": ["C1"]})
    plan = schedule_meetings(pairs, slots=3, tables=1, max_meetings=1, vetoed=vetoed)
    reasons = plan.unscheduled.set_index("capability_id")["reason"]
    assert reasons["C1"] == "已被否决"
    assert reasons["C2"] == "保密资质不足：企业资质 无，成果密级 秘密"
    assert reasons["C3"] == "同一单位"
    assert reasons["C5"] == "企业已达会面上限 1 场"
    assert list(plan.meetings["capability_id"]) == ["C4"]


def test_min_meetings_shortfall_is_reported_not_raised():
    pairs = _pairs([("N1", "C1", "甲", "乙", 0.9)])
    plan = schedule_meetings(pairs, slots=2, tables=1, min_meetings={"甲": 2})
    assert plan.status == "infeasible"
    assert "甲 (1 of 2)" in plan.message
    row = plan.unscheduled[plan.unscheduled["kind"] == "participant"].iloc[0]
    assert row["org"] == "甲" and "少于最少 2 场" in row["reason"]


def test_fairness_spreads_meetings():
    # One table, two slots: without fairness 甲 takes both slots; with it 乙 gets one.
    pairs = _pairs([("N1", "C1", "甲", "A所", 0.9), ("N1", "C2", "甲", "B所", 0.9),
                    ("N2", "C1", "乙", "A所", 0.1)])
    fair = schedule_meetings(pairs, slots=2, tables=1)
    plain = schedule_meetings(pairs, slots=2, tables=1, fairness=False)
    assert fair.fairness_level == 1 and set(fair.meetings["need_org"]) == {"甲", "乙"}
    assert plain.objective == pytest.approx(1.8) and fair.objective == pytest.approx(1.0)


def test_institute_keeps_its_table():
    pairs = _pairs([(f"N{e}", f"C{i}", f"企业{e}", f"院所{i}", 1.0)
                    for e in range(3) for i in range(3)])
    plan = schedule_meetings(pairs, slots=3, tables=3)
    assert len(plan.meetings) == 9
    assert plan.meetings.groupby("capability_org")["table"].nunique().eq(1).all()


def test_locked_table_is_kept():
    pairs = _pairs([("N1", "C1", "甲", "乙", 0.5), ("N2", "C2", "丙", "丁", 0.5)])
    locked = pd.DataFrame({"need_id": ["N1"], "capability_id": ["C1"], "slot": [2], "table": [3]})
    plan = schedule_meetings(pairs, slots=2, tables=3, locked=locked)
    row = plan.meetings.set_index("need_id").loc["N1"]
    assert (row["slot"], row["table"], row["locked"]) == (2, 3, True)


# --------------------------------------------------------------------------- errors


def _lock(rows):
    return pd.DataFrame(rows, columns=["need_id", "capability_id", "slot"])


def test_lock_count_above_slots_names_org_and_numbers():
    pairs = _pairs([(f"N{k}", f"C{k}", f"企业{k}", "某航天研究所A", 0.5) for k in range(6)])
    locked = _lock([(f"N{k}", f"C{k}", k % 5 + 1) for k in range(6)])
    with pytest.raises(InfeasibleScheduleError,
                       match="locked meetings need 6 slots for 某航天研究所A but the event has 5"):
        schedule_meetings(pairs, slots=5, tables=4, max_meetings=6, locked=locked)


@pytest.mark.parametrize("rows, kwargs, pattern", [
    ([("N1", "C1", 1), ("N2", "C2", 1)], {}, "甲 is locked into 2 meetings in slot 1"),
    ([("N1", "C1", 1), ("N2", "C2", 2)], {"max_meetings": 1},
     "locked meetings give 甲 2 meetings but its max_meetings is 1"),
    ([("N1", "C1", 1), ("N3", "C3", 1)], {"tables": 1}, "slot 1 has 2 locked meetings but only 1"),
    ([("N1", "C1", 2)], {"availability": pd.DataFrame({"org": ["乙"], "slot": [1]})},
     "乙 is not available then"),
    ([("N1", "C1", 1)], {"vetoed": pd.DataFrame({"need_id": ["N1"], "capability_id": ["C1"]})},
     "N1/C1 cannot meet"),
    ([("N1", "C1", 1), ("N4", "C4", 2)], {}, "甲 and 乙 are locked to meet 2 times"),
])
def test_inconsistent_locks_raise(rows, kwargs, pattern):
    pairs = _pairs([("N1", "C1", "甲", "乙", 0.5), ("N2", "C2", "甲", "丙", 0.5),
                    ("N3", "C3", "丁", "戊", 0.5), ("N4", "C4", "甲", "乙", 0.4)])
    options = {"slots": 2, "tables": 2, **kwargs}
    with pytest.raises(InfeasibleScheduleError, match=pattern):
        schedule_meetings(pairs, locked=_lock(rows), **options)


@pytest.mark.parametrize("change, pattern", [
    (lambda f: f.drop(columns="score"), "missing column.*'score'"),
    (lambda f: f.assign(score=[0.5, np.nan]), "row 1: score nan is not a finite number"),
    (lambda f: f.assign(need_id=["N1", "N1"], capability_id=["C1", "C1"]),
     r"rows 0, 1 repeat \(need_id 'N1', capability_id 'C1'\)"),
    (lambda f: f.assign(need_org=["甲", None]), "row 1: need_org is empty"),
])
def test_bad_pairs_raise_input_error(change, pattern):
    pairs = _pairs([("N1", "C1", "甲", "乙", 0.5), ("N2", "C2", "丙", "丁", 0.5)])
    with pytest.raises(InputError, match=pattern):
        schedule_meetings(change(pairs), slots=2, tables=1)


def test_bad_lock_reference_raises_input_error():
    pairs = _pairs([("N1", "C1", "甲", "乙", 0.5)])
    with pytest.raises(InputError, match="pair \\(need_id 'N9', capability_id 'C1'\\) is not"):
        schedule_meetings(pairs, slots=2, tables=1, locked=_lock([("N9", "C1", 1)]))


def test_empty_pairs_give_empty_schedule():
    plan = schedule_meetings(_pairs([]), slots=2, tables=1)
    assert plan.meetings.empty and plan.unscheduled.empty and plan.status == "optimal"
