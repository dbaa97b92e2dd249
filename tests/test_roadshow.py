"""Tests for matcher.roadshow.plan_roadshow."""
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import InputError
from matcher.planning.roadshow import plan_roadshow
from matcher.taxonomy import DOMAINS


def _pairs(rows):
    return pd.DataFrame(rows, columns=["need_id", "capability_id", "need_org", "capability_org",
                                       "score", "capability_domain"])


@pytest.fixture
def pairs():
    return _pairs([
        ("N1", "C1", "甲企业", "A所", 0.9, "新材料"),
        ("N2", "C1", "乙企业", "A所", 0.5, "新材料"),
        ("N3", "C2", "丙企业", "A所", 0.4, "电子信息"),
        ("N1", "C3", "甲企业", "B所", 0.7, "电子信息"),
        ("N3", "C4", "丙企业", "B所", 0.8, "electronics"),
        ("N2", "C5", "乙企业", "C所", 0.2, "电子信息"),
    ])


def test_one_talk_per_institute_in_its_main_track(pairs):
    programme = plan_roadshow(pairs, invite_top=2)
    assert list(programme.columns) == ["track", "order", "capability_org", "capability_ids",
                                       "invited_orgs", "invited_count", "expected_interest"]
    assert programme["capability_org"].is_unique
    track = programme.set_index("capability_org")["track"]
    # A所: one capability in each track, the tie goes to the higher-scoring 新材料.
    assert track.to_dict() == {"A所": "新材料", "B所": "电子信息", "C所": "电子信息"}
    # DOMAINS order: 电子信息 before 新材料; within a track by expected interest.
    assert programme[["track", "order", "capability_org"]].values.tolist() == [
        ["电子信息", 1, "B所"], ["电子信息", 2, "C所"], ["新材料", 1, "A所"]]


def test_invitations_and_expected_interest(pairs):
    row = plan_roadshow(pairs, invite_top=2).set_index("capability_org").loc["A所"]
    assert row["invited_orgs"] == "甲企业;乙企业"
    assert row["invited_count"] == 2
    assert row["expected_interest"] == pytest.approx(0.9 + 0.5)
    assert row["capability_ids"] == "C1;C2"


def test_track_order_comes_first(pairs):
    programme = plan_roadshow(pairs, track_order=["新材料"])
    assert programme["track"].tolist() == ["新材料", "电子信息", "电子信息"]


def test_capabilities_frame_supplies_domains_and_silent_institutes(pairs):
    capabilities = pd.DataFrame({"id": ["C1", "C2", "C3", "C4", "C5", "C9"],
                                 "org": ["A所", "A所", "B所", "B所", "C所", "D所"],
                                 "domain": ["新材料", "新材料", "生物医药", "生物医药", "其他",
                                            "其他"]})
    programme = plan_roadshow(pairs.drop(columns="capability_domain"), capabilities)
    row = programme.set_index("capability_org").loc["D所"]
    assert (row["track"], row["invited_count"], row["invited_orgs"]) == ("其他", 0, "")
    assert programme.set_index("capability_org").at["B所", "track"] == "生物医药"


def test_clearance_breaking_pairs_are_not_invited(pairs):
    pairs["need_clearance"] = "无"
    pairs["capability_classification"] = ["公开", "机密", "公开", "公开", "公开", "公开"]
    row = plan_roadshow(pairs).set_index("capability_org").loc["A所"]
    assert row["invited_orgs"] == "甲企业;丙企业"


@pytest.mark.parametrize("change, kwargs, pattern", [
    (lambda f: f.assign(capability_domain="航海"), {}, "unknown domain for capability C1: '航海'"),
    (lambda f: f.drop(columns="capability_domain"), {}, "no 'capability_domain' column"),
    (lambda f: f.drop(columns="score"), {}, "missing column.*'score'"),
    (lambda f: f, {"invite_top": -1}, "invite_top must be an int >= 0; got -1"),
])
def test_errors(pairs, change, kwargs, pattern):
    with pytest.raises(InputError, match=pattern):
        plan_roadshow(change(pairs), **kwargs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7), st.integers(0, 9),
                          st.sampled_from(DOMAINS)), min_size=1, max_size=30),
       st.integers(0, 4))
def test_properties(rows, invite_top):
    frame = pd.DataFrame({"need_id": [f"N{e}" for e, *_ in rows],
                          "capability_id": [f"C{c}" for _, c, _, _ in rows],
                          "need_org": [f"E{e}" for e, *_ in rows],
                          "capability_org": [f"I{c // 2}" for _, c, _, _ in rows],
                          "score": [s / 10 for *_, s, _ in rows],
                          "capability_domain": [d for *_, d in rows]})
    frame = frame.drop_duplicates(["need_id", "capability_id"])
    frame["capability_domain"] = frame.groupby("capability_id")["capability_domain"].transform(
        "first")
    programme = plan_roadshow(frame, invite_top=invite_top)
    assert sorted(programme["capability_org"]) == sorted(frame["capability_org"].unique())
    for track, talks in programme.groupby("track", sort=False):
        assert talks["order"].tolist() == list(range(1, len(talks) + 1))
        assert talks["expected_interest"].is_monotonic_decreasing
    for row in programme.itertuples():
        best = frame[frame["capability_org"] == row.capability_org].groupby("need_org")[
            "score"].max().sort_values(ascending=False)
        assert row.invited_count == min(invite_top, len(best))
        assert row.expected_interest == pytest.approx(best.iloc[:invite_top].sum())
    assert programme["track"].map(DOMAINS.index).is_monotonic_increasing
