"""Two-sided wishes: the pair-weight rule, hand-computed, and the planner following it."""
import math

import pandas as pd
import pytest

from matcher.errors import InputError
from matcher.planning.schedule import schedule_meetings
from matcher.planning.wishes import EXCLUDED_MET_BEFORE, EXCLUDED_NEVER, wish_weights


def _pairs(rows):
    return pd.DataFrame(rows, columns=["need_id", "capability_id", "need_org", "capability_org", "score",
                                       "need_wish", "capability_wish", "met_before"])


def test_weights_by_hand():
    pairs = _pairs([
        ("N1", "C1", "E1", "I1", 0.40, "want", "must", False),   # 0.40 + 1.5*1 + 2 = 3.90
        ("N1", "C2", "E1", "I2", 0.90, "", "", False),           # 0.90
        ("N2", "C1", "E2", "I1", 0.20, "must", "", False),       # 0.20 + 1.5*2 = 3.20
        ("N2", "C2", "E2", "I2", 0.95, "must", "never", False),  # never from one side: excluded
        ("N3", "C1", "E3", "I1", 0.70, "", "", True),            # met before, unwished: excluded
        ("N3", "C2", "E3", "I2", 0.10, "", "want", True),        # met before but wished: 0.10 + 1 = 1.10
    ])
    out = wish_weights(pairs, enterprise_weight=1.5)
    expected = [3.90, 0.90, 3.20, math.nan, math.nan, 1.10]
    for got, want in zip(out["weight"], expected):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)
    assert out["excluded_by"].tolist() == ["", "", "", EXCLUDED_NEVER, EXCLUDED_MET_BEFORE, ""]
    assert out.index.equals(pairs.index) and out["score"].equals(pairs["score"])


def test_enterprise_weight_is_per_event():
    pairs = _pairs([("N1", "C1", "E1", "I1", 0.5, "want", "want", False)])
    assert wish_weights(pairs, enterprise_weight=1.0)["weight"].iloc[0] == pytest.approx(2.5)
    assert wish_weights(pairs, enterprise_weight=3.0)["weight"].iloc[0] == pytest.approx(4.5)
    assert wish_weights(pairs, enterprise_weight=0)["weight"].iloc[0] == pytest.approx(1.5)


def test_missing_wish_columns_mean_unmarked():
    pairs = pd.DataFrame({"score": [0.3, 0.6]})
    out = wish_weights(pairs)
    assert out["weight"].tolist() == pytest.approx([0.3, 0.6]) and (out["excluded_by"] == "").all()


def test_bad_wishes_name_row_and_value():
    pairs = _pairs([("N1", "C1", "E1", "I1", 0.4, "maybe", "", False)])
    with pytest.raises(InputError, match="row 0: need_wish 'maybe'"):
        wish_weights(pairs)
    with pytest.raises(InputError, match="enterprise_weight must be a finite number >= 0; got -1"):
        wish_weights(_pairs([]), enterprise_weight=-1)


def test_planner_seats_the_wished_pair_over_a_stronger_unwished_one():
    # E1 has one slot; I2 is the stronger match, but both sides wished for I1.
    pairs = _pairs([
        ("N1", "C1", "E1", "I1", 0.30, "want", "want", False),
        ("N1", "C2", "E1", "I2", 0.90, "", "", False),
    ])
    weighted = wish_weights(pairs, enterprise_weight=1.5)
    plan = schedule_meetings(weighted.drop(columns=["need_wish", "capability_wish", "met_before"]),
                             slots=1, tables=5)
    assert plan.meetings[["need_id", "capability_id"]].values.tolist() == [["N1", "C1"]]
    assert plan.meetings["score"].tolist() == pytest.approx([0.30])  # the match strength, not the weight
    assert plan.objective == pytest.approx(0.30 + 1.5 + 1.0) and plan.gap == 0.0
    unweighted = schedule_meetings(pairs[["need_id", "capability_id", "need_org", "capability_org", "score"]],
                                   slots=1, tables=5)
    assert unweighted.meetings["capability_id"].tolist() == ["C2"]


def test_weight_picks_the_topic_pair_of_an_organisation_pair():
    pairs = pd.DataFrame({"need_id": ["N1", "N2"], "capability_id": ["C1", "C1"], "need_org": ["E", "E"],
                          "capability_org": ["I", "I"], "score": [0.9, 0.2], "weight": [0.9, 2.2]})
    plan = schedule_meetings(pairs, slots=2, tables=2)
    assert plan.meetings["need_id"].tolist() == ["N2"] and plan.meetings["topics"].iloc[0] == [("N1", "C1")]


def test_planner_rejects_a_bad_weight():
    pairs = pd.DataFrame({"need_id": ["N1"], "capability_id": ["C1"], "need_org": ["E"], "capability_org": ["I"],
                          "score": [0.5], "weight": ["x"]})
    with pytest.raises(InputError, match="pairs row 0: weight 'x' is not a finite number"):
        schedule_meetings(pairs, slots=1, tables=1)
