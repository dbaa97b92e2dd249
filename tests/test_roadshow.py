"""Tests for matcher.roadshow.plan_roadshow: tracks, order, invitations, and the open / closed sessions by 密级."""
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import InputError
from matcher.planning.roadshow import SESSIONS, plan_roadshow
from matcher.taxonomy import CLASSIFICATIONS, CLEARANCES, DOMAINS, clearance_allows


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
    assert list(programme.columns) == ["session", "track", "order", "capability_org", "capability_ids",
                                       "invited_orgs", "invited_count", "expected_interest"]
    assert set(programme["session"]) == {"公开"}  # no tier anywhere: everything is 公开, as in load_capabilities
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
    pairs["need_clearance"] = ["无", "无", "二级", "无", "无", "无"]
    pairs["capability_classification"] = ["公开", "公开", "机密", "公开", "公开", "公开"]
    programme = plan_roadshow(pairs).set_index(["session", "capability_org"])
    # C2 (机密) leaves A所's open talk for a 机密 session; 丙企业 (二级) may attend it.
    assert programme.loc[("公开", "A所"), "invited_orgs"] == "甲企业;乙企业"
    assert programme.loc[("机密", "A所"), ["capability_ids", "invited_orgs"]].tolist() == ["C2", "丙企业"]
    pairs["need_clearance"] = "三级"  # below 机密: the closed talk stays, with nobody invited
    row = plan_roadshow(pairs).set_index(["session", "capability_org"]).loc[("机密", "A所")]
    assert (row["invited_orgs"], row["invited_count"], row["expected_interest"]) == ("", 0, 0.0)


def test_classified_capabilities_only_in_their_closed_session():
    pairs = _pairs([
        ("N1", "C1", "甲企业", "A所", 0.9, "新材料"),
        ("N1", "C2", "甲企业", "A所", 0.8, "新材料"),
        ("N2", "C2", "乙企业", "A所", 0.7, "新材料"),
        ("N2", "C3", "乙企业", "A所", 0.6, "电子信息"),
        ("N3", "C4", "丙企业", "B所", 0.5, "电子信息"),
        ("N1", "C5", "甲企业", "B所", 0.4, "电子信息"),
    ]).assign(need_clearance=["无", "无", "三级", "三级", "一级", "无"])
    capabilities = pd.DataFrame({"id": ["C1", "C2", "C3", "C4", "C5", "C6"],
                                 "org": ["A所", "A所", "A所", "B所", "B所", "B所"],
                                 "domain": ["新材料", "新材料", "电子信息", "电子信息", "电子信息", "新材料"],
                                 "classification": ["公开", "秘密", "内部", "机密", "公开", "机密"]})
    programme = plan_roadshow(pairs, capabilities)
    columns = ["session", "track", "order", "capability_org", "capability_ids", "invited_orgs"]
    assert programme[columns].values.tolist() == [
        ["公开", "电子信息", 1, "B所", "C5", "甲企业"],
        ["公开", "新材料", 1, "A所", "C1", "甲企业"],
        ["内部", "电子信息", 1, "A所", "C3", "乙企业"],
        ["秘密", "新材料", 1, "A所", "C2", "乙企业"],  # 甲企业 (无) ranks C2 higher but may not attend
        ["机密", "电子信息", 1, "B所", "C4;C6", "丙企业"],
    ]


def test_capabilities_frame_tier_wins_over_the_pairs_copy(pairs):
    pairs["capability_classification"] = "机密"  # e.g. suggestions ranked before a re-import
    capabilities = pd.DataFrame({"id": ["C1", "C2", "C3", "C4", "C5"], "org": ["A所", "A所", "B所", "B所", "C所"],
                                 "domain": ["新材料", "电子信息", "电子信息", "电子信息", "电子信息"],
                                 "classification": "公开"})
    assert set(plan_roadshow(pairs, capabilities)["session"]) == {"公开"}
    # Without the frame the pairs' tier counts; nobody is qualified, so nobody is invited.
    programme = plan_roadshow(pairs)
    assert set(programme["session"]) == {"机密"} and programme["invited_count"].eq(0).all()


@pytest.mark.parametrize("change, kwargs, pattern", [
    (lambda f: f.assign(capability_domain="航海"), {}, "unknown domain for capability C1: '航海'"),
    (lambda f: f.drop(columns="capability_domain"), {}, "no 'capability_domain' column"),
    (lambda f: f.drop(columns="score"), {}, "missing column.*'score'"),
    (lambda f: f, {"invite_top": -1}, "invite_top must be an int >= 0; got -1"),
    (lambda f: f.assign(capability_classification="绝密"), {}, r"pairs capability_classification must be one of "
                                                              r"公开, 内部, 秘密, 机密; got row 0 \(C1\): '绝密'"),
    (lambda f: f.assign(capability_classification=["公开", "机密", "公开", "公开", "公开", "公开"]), {},
     r"several tiers \(C1: 公开 / 机密\)"),
    (lambda f: f.assign(need_clearance=["无", "四级", "无", "无", "无", "无"]), {},
     "need_clearance must be one of 无, 三级, 二级, 一级; got row 1: '四级'"),
])
def test_errors(pairs, change, kwargs, pattern):
    with pytest.raises(InputError, match=pattern):
        plan_roadshow(change(pairs), **kwargs)


def test_a_capability_without_a_tier_is_an_error(pairs):
    capabilities = pd.DataFrame({"id": ["C9"], "org": ["D所"], "domain": ["其他"], "classification": [None]})
    with pytest.raises(InputError, match=r"capabilities classification must be one of .*row 0 \(C9\): None"):
        plan_roadshow(pairs, capabilities)
    pairs["capability_classification"] = "公开"
    capabilities = capabilities.drop(columns="classification")
    with pytest.raises(InputError, match="no classification for capability C9"):
        plan_roadshow(pairs, capabilities)


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


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7), st.integers(0, 9), st.sampled_from(DOMAINS)),
                min_size=1, max_size=30),
       st.lists(st.sampled_from(list(CLASSIFICATIONS)), min_size=8, max_size=8),
       st.lists(st.sampled_from(list(CLEARANCES)), min_size=6, max_size=6),
       st.integers(0, 4))
def test_sessions_properties(rows, tiers, clearances, invite_top):
    """Every capability is presented exactly once, in the session of its own tier; the open programme holds
    only 公开 capabilities; a closed session invites only enterprises allowed its tier, and exactly the
    best-scoring of them."""
    frame = pd.DataFrame({"need_id": [f"N{e}" for e, *_ in rows],
                          "capability_id": [f"C{c}" for _, c, _, _ in rows],
                          "need_org": [f"E{e}" for e, *_ in rows],
                          "capability_org": [f"I{c // 3}" for _, c, _, _ in rows],
                          "score": [s / 10 for *_, s, _ in rows],
                          "capability_domain": [d for *_, d in rows],
                          "need_clearance": [clearances[e] for e, *_ in rows],
                          "capability_classification": [tiers[c] for _, c, _, _ in rows]})
    frame = frame.drop_duplicates(["need_id", "capability_id"])
    frame["capability_domain"] = frame.groupby("capability_id")["capability_domain"].transform("first")
    programme = plan_roadshow(frame, invite_top=invite_top)

    presented = [(cid, row.session, row.capability_org) for row in programme.itertuples()
                 for cid in row.capability_ids.split(";")]
    expected = {(f"C{c}", tiers[c], f"I{c // 3}") for c in {int(cid[1:]) for cid in frame["capability_id"]}}
    assert sorted(presented) == sorted(expected)  # each once, in its own tier's session, nothing lost
    assert not programme.duplicated(["session", "capability_org"]).any()
    assert programme["session"].map(SESSIONS.index).is_monotonic_increasing
    tier_of = {f"C{c}": t for c, t in enumerate(tiers)}
    for row in programme.itertuples():
        eligible = frame[(frame["capability_org"] == row.capability_org)
                         & (frame["capability_id"].map(tier_of) == row.session)
                         & frame["need_clearance"].map(lambda c: clearance_allows(c, row.session))]
        best = eligible.groupby("need_org")["score"].max().reset_index().sort_values(
            ["score", "need_org"], ascending=[False, True])
        assert row.invited_orgs == ";".join(best["need_org"].iloc[:invite_top])
        assert row.expected_interest == pytest.approx(best["score"].iloc[:invite_top].sum())
        invited = set(filter(None, row.invited_orgs.split(";")))
        assert all(clearance_allows(clearances[int(org[1:])], row.session) for org in invited)
    for _key, talks in programme.groupby(["session", "track"], sort=False):
        assert talks["order"].tolist() == list(range(1, len(talks) + 1))
        assert talks["expected_interest"].is_monotonic_decreasing
    for _session, talks in programme.groupby("session", sort=False):
        assert talks["track"].map(DOMAINS.index).is_monotonic_increasing
