"""Nothing lost across the stages (STYLE §6), as a property over random events.

records → every input row is valid or rejected with a reason; score matrix → every valid record is a row or
column; suggestions → every pair the rules allow can be suggested, and no other; schedule → every accepted
pair is met or listed as unscheduled with a reason.
"""
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import (
    CLASSIFICATIONS,
    CLEARANCES,
    clearance_allows,
    load_capabilities,
    load_needs,
    rank_pairs,
    schedule_meetings,
    score_matrix,
)

LEXICAL = {"semantic": 0.0, "lexical": 1.0, "domain": 0.1, "neighbourhood": 0.0}
WORDS = ["碳化硅", "外延", "缺陷", "压铸", "气孔", "聚乳酸", "耐热", "电机", "散热", "焊接", "裂纹", "涂层", "雷达",
         "SiC", "MES", "PLC"]
ENTERPRISES = ["甲企业", "乙企业", "丙企业", "丁企业"]
INSTITUTES = ["子研究所", "丑大学", "寅研究院", "甲企业"]  # an enterprise offering a capability of its own


def text(rng_words):
    return "".join(rng_words) + "的问题需要解决，希望合作。"


@st.composite
def events(draw):
    n_needs, n_capabilities = draw(st.integers(1, 8)), draw(st.integers(1, 10))
    words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)
    needs = pd.DataFrame({
        "id": [f"N{i}" for i in range(n_needs)],
        "org": [draw(st.sampled_from(ENTERPRISES)) for _ in range(n_needs)],
        "title": [text(draw(words))[:12] for _ in range(n_needs)],
        "description": [draw(st.sampled_from(["", text(draw(words))])) if i % 3 == 2 else text(draw(words))
                        for i in range(n_needs)],
        "clearance": [draw(st.sampled_from(list(CLEARANCES))) for _ in range(n_needs)],
    })
    capabilities = pd.DataFrame({
        "id": [f"C{i}" for i in range(n_capabilities)],
        "org": [draw(st.sampled_from(INSTITUTES)) for _ in range(n_capabilities)],
        "title": [text(draw(words))[:12] for _ in range(n_capabilities)],
        "description": [text(draw(words)) for _ in range(n_capabilities)],
        "classification": [draw(st.sampled_from(list(CLASSIFICATIONS))) for _ in range(n_capabilities)],
    })
    return needs, capabilities


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_nothing_is_lost_from_records_to_schedule(event):
    raw_needs, raw_capabilities = event
    needs, rejected = load_needs(raw_needs, errors="collect")
    capabilities = load_capabilities(raw_capabilities)
    assert sorted(list(needs["id"]) + list(rejected["id"])) == sorted(raw_needs["id"])
    assert all(isinstance(r, str) and r for r in rejected["reason"])
    if needs.empty:
        return
    scores = score_matrix(needs, capabilities, weights=LEXICAL)
    assert list(scores.need_ids) == list(needs["id"]) and list(scores.capability_ids) == list(capabilities["id"])
    allowed = {(n.id, c.id) for n in needs.itertuples() for c in capabilities.itertuples()
               if clearance_allows(n.clearance, c.classification) and n.org != c.org}
    pairs = rank_pairs(needs, capabilities, top_k=len(capabilities), weights=LEXICAL, scores=scores)
    suggested = list(zip(pairs["need_id"], pairs["capability_id"]))
    assert len(suggested) == len(set(suggested)) and set(suggested) == allowed
    if pairs.empty:
        return
    accepted = pairs[pairs["rank"] <= 3]
    plan = schedule_meetings(accepted, slots=3, tables=2, max_meetings=2, time_limit=10)
    met = set(zip(plan.meetings["need_id"], plan.meetings["capability_id"]))
    met |= {tuple(t) for topics in plan.meetings["topics"] for t in topics}  # discussed in the same meeting
    left = plan.unscheduled[plan.unscheduled["kind"] == "pair"]
    left_out = set(zip(left["need_id"], left["capability_id"]))
    assert met.isdisjoint(left_out)
    assert met | left_out == set(zip(accepted["need_id"], accepted["capability_id"]))
    assert all(isinstance(r, str) and r for r in left["reason"])
