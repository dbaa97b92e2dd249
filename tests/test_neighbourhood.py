"""The second-order neighbourhood signal: profiles, per-query weights, visibility, integration."""
import numpy as np
import pandas as pd
import pytest

import matcher
from matcher.neighbourhood import SATURATION_TERMS, neighbourhood_size, profile_similarity, query_weights, rank_profiles

LEXICAL_ONLY = {"semantic": 0.0, "lexical": 1.0, "domain": 0.0}


def test_neighbourhood_size_grows_with_the_square_root_and_is_bounded():
    assert [neighbourhood_size(n) for n in (1, 3, 10, 84, 1989, 10**6)] == [1, 3, 5, 9, 45, 50]


def test_rank_profiles_weight_the_top_k_by_rank_and_skip_forbidden_candidates():
    scores = np.array([[0.9, 0.1, 0.5, -np.inf, 0.7]], dtype=np.float32)
    profile = rank_profiles(scores, 3).toarray()[0]
    expected = np.array([1.0, 0.0, 1 / np.log2(4), 0.0, 1 / np.log2(3)])
    np.testing.assert_allclose(profile, expected / np.linalg.norm(expected), rtol=1e-6)
    # With k larger than the allowed candidates, -inf entries stay out of the profile.
    wide = rank_profiles(scores, 5).toarray()[0]
    assert wide[3] == 0 and np.count_nonzero(wide) == 4
    assert np.isclose(np.linalg.norm(wide), 1.0)


def test_rank_profiles_of_a_row_with_nothing_allowed_is_empty():
    profile = rank_profiles(np.full((1, 4), -np.inf, dtype=np.float32), 2)
    assert profile.nnz == 0


def test_profile_similarity_rewards_a_candidate_whose_neighbours_the_query_prefers():
    # Thirty candidates in three clusters of ten. The query scores cluster A high except
    # candidate 0, which it scores lowest of all (no shared words, say): 0 is still close
    # through its neighbours, closer than anything in the other clusters.
    rng = np.random.default_rng(1)
    cluster = np.repeat(np.arange(3), 10)
    among = (cluster[:, None] == cluster[None, :]) + 0.1 * rng.random((30, 30)) + 2 * np.eye(30)
    query = np.where(cluster == 0, 0.8 + 0.1 * rng.random(30), 0.5 * rng.random(30))[None, :]
    query[0, 0] = -0.1
    similarity = profile_similarity(query.astype(np.float32), lambda rows, columns: among[np.ix_(rows, columns)].astype(np.float32),
                                    np.ones((1, 30), dtype=bool))
    assert similarity.shape == (1, 30) and similarity.min() >= 0 and similarity.max() <= 1 + 1e-6
    assert similarity[0, 0] > similarity[0, 10:].max()


def test_a_hidden_candidate_has_no_influence_on_queries_that_may_not_see_it():
    rng = np.random.default_rng(0)
    query = rng.random((3, 8)).astype(np.float32)
    visible = np.ones((3, 8), dtype=bool)
    visible[:2, 7] = False  # candidate 7 is classified: only query 2 may see it
    query[:2, 7] = -np.inf
    among = rng.random((8, 8)).astype(np.float32)
    changed = among.copy()
    changed[7, :] = changed[:, 7] = 10.0  # the hidden candidate now dominates every neighbour list

    def scorer(matrix):
        return lambda rows, columns: matrix[np.ix_(rows, columns)]

    before = profile_similarity(query, scorer(among), visible)
    after = profile_similarity(query, scorer(changed), visible)
    np.testing.assert_array_equal(before[:2], after[:2])
    assert not np.array_equal(before[2], after[2])


def test_query_weights_grow_with_length_and_saturate():
    texts = ["", "碳化硅", "碳" * (SATURATION_TERMS // 2), "碳" * SATURATION_TERMS * 3,
             " ".join(["wafer"] * SATURATION_TERMS)]
    weights = query_weights(texts, 0.8)
    np.testing.assert_allclose(weights, [0.0, 0.8 * 3 / SATURATION_TERMS, 0.4, 0.8, 0.8], rtol=1e-6)


@pytest.fixture()
def records():
    needs = pd.DataFrame({
        "id": ["N1", "N2"], "org": ["甲公司", "乙公司"],
        "title": ["碳化硅功率器件散热", "铝合金薄壁件加工变形"],
        "description": ["车载碳化硅MOSFET模块结温过高，需要新的封装散热方案和热阻测试方法。",
                        "航空铝合金薄壁件铣削后变形超差，需要工艺仿真与夹具优化把变形控制在0.05毫米内。"],
        "clearance": ["无", "二级"]})
    capabilities = pd.DataFrame({
        "id": ["C1", "C2", "C3", "C4"], "org": ["所A", "所B", "所C", "所D"],
        "title": ["功率模块银烧结封装", "宽禁带器件热阻表征", "薄壁件切削变形预测", "涉密构件加工工艺"],
        "description": ["银烧结与双面散热封装降低碳化硅模块热阻。", "瞬态热阻测试与结温在线估计。",
                        "有限元仿真预测薄壁件加工变形并优化装夹。", "薄壁件加工变形控制与夹具设计。"],
        "classification": ["公开", "公开", "公开", "秘密"]})
    return matcher.load_needs(needs), matcher.load_capabilities(capabilities)


@pytest.mark.parametrize("direction", ["need", "capability"])
def test_score_matrix_mixes_the_signal_in_and_keeps_the_rules(records, direction):
    needs, capabilities = records
    first = matcher.score_matrix(needs, capabilities, weights={**LEXICAL_ONLY, "neighbourhood": 0.0},
                                 direction=direction)
    mixed = matcher.score_matrix(needs, capabilities, weights={**LEXICAL_ONLY, "neighbourhood": 0.8},
                                 direction=direction)
    assert not first.components["neighbourhood"].any()
    assert mixed.components["neighbourhood"].any()
    np.testing.assert_array_equal(first.allowed, mixed.allowed)
    assert not mixed.allowed[0, 3]  # the classified capability stays hidden from the uncleared need
    assert mixed.components["neighbourhood"][0, 3] == 0
    allowed = mixed.values[mixed.allowed]
    assert allowed.min() >= 0 and allowed.max() <= 1 + 1e-6


def test_rank_pairs_reports_the_neighbourhood_score(records):
    needs, capabilities = records
    pairs = matcher.rank_pairs(needs, capabilities, top_k=2, weights=LEXICAL_ONLY)
    assert pairs["score_neighbourhood"].between(0, 1).all()
    assert pairs.loc[pairs["need_id"] == "N1", "capability_id"].tolist()[:1] == ["C1"]
