"""English routing: language per text, the fused vectors, and when rank_pairs routes."""
import numpy as np
import pandas as pd
import pytest

import matcher
from matcher.rank import semantic_scores
from matcher.records import record_texts
from matcher.routing import RoutedEmbedder, all_english, text_language


class Fixed:
    """Array-level stand-in: fixed unit vectors per text (real RoutedEmbedder code, never for quality)."""

    def __init__(self, table):
        self.table = table
        self.dim_ = len(next(iter(table.values())))

    def encode(self, texts, *, role="passage"):
        out = np.array([self.table[t] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_language_per_text():
    assert text_language("Gate driver for SiC MOSFETs in traction inverters") == "en"
    # A few Chinese terms inside an English request keep it English; Chinese with Latin words is not.
    assert text_language("Our 碳化硅 (silicon carbide) main drive inverter fails after 2,000 hours of cycling") == "en"
    assert text_language("碳化硅 MOSFET 栅极驱动") == "zh" and text_language("") == "zh"
    assert all_english(["pump housing"], ["leak test"]) and not all_english(["pump housing"], ["压铸"])


def test_english_pairs_fuse_both_cosines_and_others_keep_e5():
    base = Fixed({"a": [1, 0, 0], "b": [0.6, 0.8, 0], "中": [0, 0, 1]})
    english = Fixed({"a": [1, 0], "b": [0, 1]})
    routed = RoutedEmbedder(base, english, english_share=0.25)
    vectors = routed.encode(["a", "b", "中"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert vectors[0] @ vectors[1] == pytest.approx(0.75 * 0.6 + 0.25 * 0.0)
    np.testing.assert_allclose(vectors[2], [0, 0, 1, 0, 0])
    with pytest.raises(matcher.InputError, match="english_share"):
        RoutedEmbedder(base, english, english_share=1.5).encode(["a"])


def test_rank_pairs_routes_only_all_english_rankings_with_the_default_model(embedder):
    needs = pd.DataFrame({"id": ["N1"], "org": ["A"], "title": ["Pump housings fail the leak test"],
                          "description": ["Porosity in die-cast aluminium housings opens up after machining."]})
    capabilities = pd.DataFrame({"id": ["C1", "C2"], "org": ["B", "C"],
                                 "title": ["Vacuum die casting", "Battery recycling"],
                                 "description": ["Vacuum-assisted high-pressure die casting reduces gas porosity.",
                                                 "Hydrometallurgical recovery of lithium from black mass."]})
    routed = matcher.score_matrix(needs, capabilities, embedder=embedder)
    plain = matcher.score_matrix(needs, capabilities, embedder=RoutedEmbedder(embedder, english_share=0.0))
    assert not np.allclose(routed.components["semantic"], plain.components["semantic"])
    assert routed.top_k(1)["capability_id"].tolist() == ["C1"]
    mixed = pd.concat([capabilities, pd.DataFrame({"id": ["C3"], "org": ["D"], "title": ["真空压铸"],
                                                   "description": ["真空压铸降低气孔。"]})], ignore_index=True)
    e5 = semantic_scores(embedder.encode(record_texts(matcher.load_needs(needs)), role="query"),
                         embedder.encode(record_texts(matcher.load_capabilities(mixed)), role="passage"))
    np.testing.assert_allclose(matcher.score_matrix(needs, mixed, embedder=embedder).components["semantic"], e5,
                               atol=1e-5)
