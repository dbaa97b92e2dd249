"""Calibrated match strength: monotone, stable bands, the "no strong match" flag, the same on both paths."""
import numpy as np
import pandas as pd
import pytest
from webapp_helpers import SAMPLE as SAMPLE_DATA

import matcher
from matcher import search_pairs
from matcher.constraints import pair_rules
from matcher.strength import BANDS, add_strength, match_strength, strength_band


def test_strength_is_monotone_in_both_signals():
    z, coverage = np.meshgrid(np.linspace(-3, 6, 40), np.linspace(0, 1, 40), indexing="ij")
    strength = match_strength(z.ravel(), coverage.ravel()).reshape(z.shape)
    assert ((strength >= 0) & (strength <= 1)).all()
    assert (np.diff(strength, axis=0) >= 0).all() and (np.diff(strength, axis=1) >= 0).all()
    lexical = match_strength(np.zeros(40), np.linspace(0, 1, 40), semantic=False)
    assert (np.diff(lexical) >= 0).all()
    # Without the semantic signal the z-score is ignored.
    np.testing.assert_array_equal(match_strength([-5.0, 5.0], [0.2, 0.2], semantic=False)[0],
                                  match_strength([-5.0, 5.0], [0.2, 0.2], semantic=False)[1])


def test_bands_have_fixed_bounds():
    strong, medium = dict(BANDS)["强"], dict(BANDS)["中"]
    values = [0.0, medium - 1e-6, medium, strong - 1e-6, strong, 1.0]
    assert strength_band(values).tolist() == ["弱", "弱", "中", "中", "强", "强"]
    assert strength_band(values).tolist() == strength_band(np.array(values)[::-1])[::-1].tolist()


def test_flag_marks_every_suggestion_of_a_query_whose_best_is_weak():
    pairs = pd.DataFrame({"need_id": ["N1", "N1", "N2", "N2"], "capability_id": ["C1", "C2", "C1", "C2"],
                          "semantic_z": [5.0, 0.0, 0.5, 0.0], "lexical_coverage": [0.3, 0.0, 0.02, 0.0]})
    out = add_strength(pairs)
    assert out["no_strong_match"].tolist() == [False, False, True, True]
    assert out.loc[0, "strength_band"] == "强" and set(out.loc[2:, "strength_band"]) == {"弱"}
    by_capability = add_strength(pairs, direction="capability")
    assert by_capability["no_strong_match"].tolist() == [False, True, False, True]  # C1 has a strong need, C2 none


@pytest.fixture(scope="module")
def sample():
    return matcher.load_needs(SAMPLE_DATA / "needs.csv"), matcher.load_capabilities(SAMPLE_DATA / "capabilities.csv")


def test_a_need_whose_partner_is_removed_reads_no_strong_match(sample, embedder):
    # N003 (沙坦类杂质风险) has one fitting capability, 亚硝胺类基因毒性杂质分析与控制. With it the need's best
    # is strong; without it the per-query score still reads 1.00 at the top, the strength does not.
    needs, capabilities = sample
    need = needs[needs["id"] == "N003"]
    partner = capabilities["title"] == "亚硝胺类基因毒性杂质分析与控制"
    present = matcher.rank_pairs(need, capabilities, top_k=3, embedder=embedder)
    removed = matcher.rank_pairs(need, capabilities[~partner], top_k=3, embedder=embedder)
    assert present.loc[0, "capability_title"] == "亚硝胺类基因毒性杂质分析与控制"
    assert present.loc[0, "strength_band"] == "强" and not present["no_strong_match"].any()
    assert removed.loc[0, "score"] == pytest.approx(1.0, abs=0.05)
    assert removed["strength"].max() < dict(BANDS)["中"] and removed["no_strong_match"].all()


def test_semantic_z_is_the_cosine_against_the_visible_background(sample, embedder):
    needs, capabilities = sample
    scores = matcher.score_matrix(needs, capabilities, embedder=embedder)
    cosine, z = scores.components["semantic"], scores.components["semantic_z"]
    rules = pair_rules(needs, capabilities)
    for i in [0, 5, 40]:
        visible = rules.candidate_levels <= rules.query_levels[i]
        row = cosine[i, visible]
        np.testing.assert_allclose(z[i, visible], (row - row.mean()) / row.std(), atol=1e-3)


@pytest.mark.parametrize("direction", ["need", "capability"])
def test_large_path_gives_the_dense_strength(sample, embedder, direction):
    needs, capabilities = sample
    dense = matcher.rank_pairs(needs, capabilities, top_k=5, embedder=embedder, direction=direction)
    large = search_pairs(needs, capabilities, top_k=5, n_candidates=12, block_size=17, embedder=embedder,
                         direction=direction)
    merged = dense.merge(large, on=["need_id", "capability_id"], suffixes=("", "_large"))
    assert len(merged) >= 0.9 * len(dense)
    for column in ("semantic_z", "lexical_coverage", "strength"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_large"], atol=1e-4)
