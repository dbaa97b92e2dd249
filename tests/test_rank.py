"""Ranking: top-k against brute force, the visibility rules under random data, reasons, exclusions."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcher
from matcher import InputError, ScoreMatrix, rank_organisations, rank_pairs, score_matrix
from matcher.lexical import BM25, analyse
from matcher.rank import fuse_scores
from matcher.taxonomy import CLASSIFICATIONS, CLEARANCES, clearance_allows

LEXICAL = {"semantic": 0.0}


@pytest.mark.parametrize("chunk_size", [5, 17, 1000])
@pytest.mark.parametrize("direction", ["need", "capability"])
def test_top_k_equals_brute_force_sort(chunk_size, direction):
    rng = np.random.default_rng(7)
    values = rng.normal(size=(43, 31)).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = -np.inf
    values[:, 3] = values[:, 4]  # ties are broken by position
    matrix = ScoreMatrix(values, np.array([f"N{i}" for i in range(43)], dtype=object),
                         np.array([f"C{j}" for j in range(31)], dtype=object), direction=direction)
    got = matrix.top_k(7, chunk_size=chunk_size)
    oriented = values if direction == "need" else values.T
    query_column = "need_id" if direction == "need" else "capability_id"
    partner_ids = matrix.capability_ids if direction == "need" else matrix.need_ids
    for q in range(oriented.shape[0]):
        expected = [j for j in sorted(range(oriented.shape[1]), key=lambda j: (-oriented[q, j], j))
                    if np.isfinite(oriented[q, j])][:7]
        query_id = (matrix.need_ids if direction == "need" else matrix.capability_ids)[q]
        rows = got[got[query_column] == query_id]
        partner_column = "capability_id" if direction == "need" else "need_id"
        assert rows[partner_column].tolist() == [partner_ids[j] for j in expected]
        assert rows["rank"].tolist() == list(range(1, len(expected) + 1))


def test_bm25_matches_rank_bm25_oracle():
    rank_bm25 = pytest.importorskip("rank_bm25")

    class LuceneIdf(rank_bm25.BM25Okapi):
        """rank_bm25's Okapi scoring with Lucene's IDF, log(1 + (N - df + 0.5) / (df + 0.5)), which we use."""

        def _calc_idf(self, nd):
            for term, df in nd.items():
                self.idf[term] = math.log(1 + (self.corpus_size - df + 0.5) / (df + 0.5))

    documents = ["碳化硅外延片缺陷控制与表征", "聚乳酸结晶改性提高耐热性", "SiC MOSFET 栅氧可靠性评价",
                 "压铸件气孔 X光检测", "锂电池管理系统 BMS 均衡算法"]
    queries = ["碳化硅 MOSFET 可靠性", "聚乳酸耐热", "压铸气孔", "碳化硅碳化硅", "无关查询"]
    ours = BM25(k1=1.2, b=0.75).fit(documents).scores(queries)
    oracle = LuceneIdf([analyse(d) for d in documents], k1=1.2, b=0.75)
    for q, query in enumerate(queries):
        np.testing.assert_allclose(ours[q], oracle.get_scores(analyse(query)), rtol=1e-6, atol=1e-9)  # float32 scores


def test_clearance_and_same_org_rules(needs, capabilities):
    scores = score_matrix(needs, capabilities, weights=LEXICAL)
    assert scores.values.shape == (4, 5)
    forbidden = scores.excluded_by
    # N1 (无) may not see C2 (秘密) or C3 (内部); N2 (三级) sees 秘密 C2 but is the same org as C5.
    assert forbidden[0, 1] == "clearance" and forbidden[0, 2] == "clearance"
    assert forbidden[1, 1] == "" and forbidden[1, 4] == "same_org"
    assert forbidden[3, 1] == "same_org"  # 星河航天技术研究所 on both sides
    assert np.isneginf(scores.values[forbidden != ""]).all()
    assert np.isfinite(scores.values[forbidden == ""]).all()


def test_rank_pairs_columns_reasons_and_best_match(needs, capabilities):
    pairs = rank_pairs(needs, capabilities, top_k=2, weights=LEXICAL)
    expected = ["need_id", "capability_id", "rank", "score", "score_semantic", "score_lexical", "domain_match",
                "reason", "need_org", "capability_org"]
    assert set(expected) <= set(pairs.columns)
    best = pairs[pairs["rank"] == 1].set_index("need_id")["capability_id"].to_dict()
    assert best["N1"] == "C1" and best["N2"] == "C3" and best["N3"] == "C4"
    reason = pairs[(pairs.need_id == "N2") & (pairs.capability_id == "C3")]["reason"].iloc[0]
    assert "共同术语" in reason and "SiC MOSFET" in reason and "领域一致（电子信息）" in reason
    assert "需求「" in reason and "成果「" in reason


def test_direction_capability_ranks_needs_per_capability(needs, capabilities):
    pairs = rank_pairs(needs, capabilities, top_k=1, direction="capability", weights=LEXICAL)
    assert pairs.groupby("capability_id").size().max() == 1
    assert pairs.set_index("capability_id").loc["C4", "need_id"] == "N3"


def test_exclusion_by_pair_and_by_organisation(needs, capabilities):
    exclude = pd.DataFrame({"need_id": ["N1"], "capability_id": ["C1"]})
    pairs = rank_pairs(needs, capabilities, top_k=5, weights=LEXICAL, exclude=exclude)
    assert not ((pairs.need_id == "N1") & (pairs.capability_id == "C1")).any()
    by_org = pd.DataFrame({"need_org": ["绿源材料科技有限公司"], "capability_org": ["江川理工大学"]})
    pairs = rank_pairs(needs, capabilities, top_k=5, weights=LEXICAL, exclude=by_org)
    assert not ((pairs.need_id == "N3") & pairs.capability_id.isin(["C1", "C4"])).any()


def test_rank_organisations_aggregates_best_capability(needs, capabilities):
    orgs = rank_organisations(needs, capabilities, top_k=3, weights=LEXICAL)
    row = orgs[(orgs.need_id == "N3") & (orgs["rank"] == 1)].iloc[0]
    assert row["capability_org"] == "江川理工大学" and row["capability_ids"].split(";")[0] == "C4"
    assert row["n_capabilities"] == 2


@pytest.mark.parametrize("weights, message", [
    ({"bm25": 0.3}, "unknown weight 'bm25'"),
    ({"lexical": -0.2}, r"weights\['lexical'\] must be a non-negative number; got -0.2"),
    ({"semantic": 0, "lexical": 0}, "cannot both be 0"),
])
def test_bad_weights(needs, capabilities, weights, message):
    with pytest.raises(InputError, match=message):
        score_matrix(needs, capabilities, weights=weights)


def test_bad_direction_and_top_k(needs, capabilities):
    with pytest.raises(InputError, match="direction must be one of"):
        rank_pairs(needs, capabilities, direction="both", weights=LEXICAL)
    with pytest.raises(InputError, match="top_k must be a positive integer"):
        rank_pairs(needs, capabilities, top_k=0, weights=LEXICAL)


def test_fuse_scores_normalises_per_query():
    components = {"semantic": np.array([[0.2, 0.4], [0.9, 0.1]]), "lexical": np.array([[10.0, 0.0], [3.0, 6.0]]),
                  "domain": np.array([[1.0, 0.0], [0.0, 0.0]])}
    allowed = np.array([[True, True], [True, False]])
    fused = fuse_scores(components, {"semantic": 0.5, "lexical": 0.5, "domain": 0.1}, allowed)
    assert fused[0].tolist() == pytest.approx([0.5 * 0 + 0.5 * 1 + 0.1, 0.5 * 1 + 0.5 * 0])
    assert np.isneginf(fused[1, 1]) and fused[1, 0] == pytest.approx(0.0)


TIERS = st.sampled_from(list(CLASSIFICATIONS))
LEVELS = st.sampled_from(list(CLEARANCES))
ORGS = st.sampled_from(["甲", "乙", "丙", "丁"])
WORDS = st.lists(st.sampled_from(["碳化硅", "外延", "压铸", "气孔", "聚乳酸", "耐热", "可靠性", "SiC", "MES"]),
                 min_size=1, max_size=5).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(needs=st.lists(st.tuples(ORGS, LEVELS, WORDS), min_size=1, max_size=6),
       capabilities=st.lists(st.tuples(ORGS, TIERS, WORDS), min_size=1, max_size=7),
       top_k=st.integers(1, 8), direction=st.sampled_from(["need", "capability"]))
def test_rules_hold_for_any_data(needs, capabilities, top_k, direction):
    need_frame = pd.DataFrame({"id": [f"N{i}" for i in range(len(needs))], "org": [n[0] for n in needs],
                               "clearance": [n[1] for n in needs], "title": [n[2] for n in needs],
                               "description": [n[2] for n in needs]})
    capability_frame = pd.DataFrame({
        "id": [f"C{i}" for i in range(len(capabilities))], "org": [c[0] for c in capabilities],
        "classification": [c[1] for c in capabilities], "title": [c[2] for c in capabilities],
        "description": [c[2] for c in capabilities]})
    pairs = rank_pairs(need_frame, capability_frame, top_k=top_k, direction=direction, weights=LEXICAL)
    for row in pairs.itertuples():
        assert clearance_allows(row.need_clearance, row.capability_classification)
        assert row.need_org != row.capability_org
    allowed = sum(clearance_allows(n[1], c[1]) and n[0] != c[0] for n in needs for c in capabilities)
    # Every query gets exactly min(top_k, its allowed partners) suggestions: the rules remove, never pad.
    queries = needs if direction == "need" else capabilities
    column = "need_id" if direction == "need" else "capability_id"
    counts = pairs.groupby(column).size()
    for q, query in enumerate(queries):
        partners = capabilities if direction == "need" else needs
        allowed = sum(clearance_allows(query[1], p[1]) if direction == "need" else clearance_allows(p[1], query[1])
                      for p in partners if p[0] != query[0])
        prefix = "N" if direction == "need" else "C"
        assert counts.get(f"{prefix}{q}", 0) == min(top_k, allowed)


def test_public_api_names_are_importable():
    assert len(set(matcher.__all__)) == len(matcher.__all__)
    assert not any(name.startswith("_") for name in matcher.__all__)
    for name in matcher.__all__:
        value = getattr(matcher, name)
        if name.isupper():
            assert isinstance(value, (dict, tuple, int)) and value, name
        elif name != "evaluate":
            assert callable(value) and value.__module__.startswith("matcher"), name
    assert callable(matcher.evaluate.query_metrics)


def test_empty_sides_and_texts_without_terms(needs, capabilities):
    assert rank_pairs(needs, capabilities.iloc[:0], weights=LEXICAL).empty
    assert rank_pairs(needs.iloc[:0], capabilities, weights=LEXICAL).empty
    punctuation = pd.DataFrame({"id": ["X1"], "title": ["。。"], "description": ["！！"]})
    pairs = rank_pairs(punctuation, punctuation.assign(id=["Y1"]), weights=LEXICAL)
    assert pairs["capability_id"].tolist() == ["Y1"] and pairs["score_lexical"].tolist() == [0.0]


def test_rank_pairs_accepts_a_hand_made_score_matrix(needs, capabilities):
    loaded_needs, loaded_capabilities = matcher.load_needs(needs), matcher.load_capabilities(capabilities)
    values = np.arange(20, dtype=np.float32).reshape(4, 5)
    scores = ScoreMatrix(values, loaded_needs["id"].to_numpy(dtype=object),
                         loaded_capabilities["id"].to_numpy(dtype=object))
    pairs = rank_pairs(loaded_needs, loaded_capabilities, top_k=2, scores=scores)
    # The rules hold whatever the matrix says: N2 shares its org with C5, N1 and N3 lack the
    # qualification for C2 (秘密) and C3 (内部), N4 shares its org with C2.
    assert pairs.groupby("need_id")["capability_id"].apply(list).to_dict() == {
        "N1": ["C5", "C4"], "N2": ["C4", "C3"], "N3": ["C5", "C4"], "N4": ["C5", "C4"]}
    assert pairs["reason"].str.contains("匹配强度").all()
    with pytest.raises(InputError, match="scores do not match"):
        rank_pairs(loaded_needs.iloc[::-1], loaded_capabilities, scores=scores)
