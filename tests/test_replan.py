"""Re-planning on the day: nothing published moves, nothing is lost, freed places are filled from standby."""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.planning.replan import REASON_ABSENT, REASON_NO_SHOW, replan_meetings
from matcher.planning.schedule import schedule_meetings

COLUMNS = ["need_id", "capability_id", "need_org", "capability_org", "score"]


def _pairs(n_enterprises, n_institutes, scores):
    rows = []
    for e in range(n_enterprises):
        for i in range(n_institutes):
            rows.append((f"N{e}", f"C{i}", f"E{e}", f"I{i}", scores[(e * n_institutes + i) % len(scores)]))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_a_no_show_frees_a_slot_that_standby_fills():
    pairs = _pairs(2, 2, [0.9, 0.1, 0.1, 0.8])
    published = schedule_meetings(pairs.iloc[[0, 3]], slots=2, tables=1).meetings
    standby = pairs.iloc[[1, 2]]
    plan = replan_meetings(published, standby, slots=2, tables=1,
                           no_shows=published.iloc[[0]][["need_id", "capability_id"]])
    kept = published.iloc[1]
    row = plan.meetings[plan.meetings["need_id"] == kept.need_id].iloc[0]
    assert (row.slot, row.table, row.capability_id, bool(row.locked)) == (kept.slot, kept.table, kept.capability_id,
                                                                          True)
    assert len(plan.meetings) == 2  # the freed slot is taken by a standby pair
    freed = plan.unscheduled[plan.unscheduled["reason"] == REASON_NO_SHOW]
    assert freed[["need_id", "capability_id"]].values.tolist() == [published.iloc[0][["need_id",
                                                                                      "capability_id"]].tolist()]


def test_absent_organisation_gets_no_new_meeting():
    pairs = _pairs(2, 2, [0.9, 0.5, 0.4, 0.8])
    published = schedule_meetings(pairs.iloc[[0]], slots=2, tables=2).meetings
    plan = replan_meetings(published, pairs.iloc[1:], slots=2, tables=2, absent={"E1"})
    assert "E1" not in set(plan.meetings["need_org"])
    assert set(plan.unscheduled.loc[plan.unscheduled["reason"] == REASON_ABSENT, "need_org"]) == {"E1"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.lists(st.floats(0.01, 1.0), min_size=1, max_size=16), st.data())
def test_nothing_published_moves_nothing_lost(n_e, n_i, slots, tables, scores, data):
    pairs = _pairs(n_e, n_i, scores)
    chosen = data.draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    mask = np.array(chosen, dtype=bool)
    first, rest = pairs.loc[mask], pairs.loc[~mask]
    published = schedule_meetings(first, slots=slots, tables=tables, max_meetings=2).meetings if len(first) \
        else pd.DataFrame({"slot": [], "table": [], **{c: [] for c in COLUMNS}})
    seated = set(zip(published["need_id"], published["capability_id"]))
    rest = pairs.loc[np.array([key not in seated for key in zip(pairs["need_id"], pairs["capability_id"])], dtype=bool)]
    marks = data.draw(st.lists(st.booleans(), min_size=len(published), max_size=len(published)))
    no_shows = published.loc[np.array(marks, dtype=bool), ["need_id", "capability_id"]]
    absent = set(data.draw(st.lists(st.sampled_from([f"E{e}" for e in range(n_e)]), max_size=1)))
    from_slot = data.draw(st.integers(1, slots))
    plan = replan_meetings(published, rest, slots=slots, tables=tables, no_shows=no_shows, absent=absent,
                           from_slot=from_slot, max_meetings=3)
    m = plan.meetings
    placed = {(r.need_id, r.capability_id): (r.slot, r.table) for r in m.itertuples()}
    freed = set(zip(no_shows["need_id"], no_shows["capability_id"]))
    for row in published.itertuples():
        key = (row.need_id, row.capability_id)
        if key in freed or row.need_org in absent:
            assert key not in placed
        else:
            assert placed[key] == (row.slot, row.table), "a published meeting moved"
    published_keys = set(zip(published["need_id"], published["capability_id"]))
    for row in m.itertuples():
        if (row.need_id, row.capability_id) not in published_keys:
            assert row.slot >= from_slot and row.need_org not in absent
    seats = pd.concat([m[["slot", "need_org"]].set_axis(["slot", "org"], axis=1),
                       m[["slot", "capability_org"]].set_axis(["slot", "org"], axis=1)])
    assert not seats.duplicated().any() and not m.duplicated(["slot", "table"]).any()
    assert m["table"].between(1, tables).all()
    topics = {tuple(t) for ts in m["topics"] for t in ts}
    left = set(zip(plan.unscheduled["need_id"], plan.unscheduled["capability_id"]))
    everything = set(zip(pairs["need_id"], pairs["capability_id"]))
    assert set(placed) | topics | left == everything, "a pair was lost"
    assert plan.unscheduled["reason"].str.len().gt(0).all()
