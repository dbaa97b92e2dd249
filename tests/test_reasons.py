"""Reasons: word-level shared terms (whole words, stop list, IDF order), precomputed per record."""
import re

import numpy as np
import pytest
from webapp_helpers import SAMPLE as SAMPLE_DATA

import matcher
from matcher import reasons
from matcher.lexical import BM25
from matcher.records import record_texts
from matcher.terms import FILLER_WORDS, record_words


def oracle_best_sentences(need_text, capability_text, weight):
    need_sentences, capability_sentences = reasons._sentences(need_text), reasons._sentences(capability_text)
    best, best_score = (need_sentences[0], capability_sentences[0]), 0.0
    for need_sentence in need_sentences:
        for capability_sentence in capability_sentences:
            score = sum(weight(g) for g in reasons._bigrams(need_sentence) & reasons._bigrams(capability_sentence))
            if score > best_score:
                best, best_score = (need_sentence, capability_sentence), score
    return tuple(reasons._shorten(s) for s in best)


def oracle_shared_terms(need_text, capability_text, weight, max_terms=reasons.MAX_TERMS):
    """Straight from the definition: whole words/phrases of both texts, heaviest first, none inside a kept one."""
    both = set(record_words(need_text)) & set(record_words(capability_text))
    kept = []
    for term in sorted(both, key=lambda t: (-reasons._term_weight(t, weight), t)):
        if reasons._term_weight(term, weight) > 0 and not any(reasons._inside(term, k) for k in kept):
            kept.append(term)
    return [reasons._original_case(t, need_text) for t in kept[:max_terms]]


@pytest.fixture(scope="module")
def sample():
    return matcher.load_needs(SAMPLE_DATA / "needs.csv"), matcher.load_capabilities(SAMPLE_DATA / "capabilities.csv")


def test_precomputed_terms_and_sentences_equal_the_per_pair_definition_on_the_sample_data(sample):
    needs, capabilities = sample
    need_texts, capability_texts = record_texts(needs), record_texts(capabilities)
    weight = BM25().fit(capability_texts).term_weight
    need_records = reasons.record_terms(need_texts, needs["description"])
    capability_records = reasons.record_terms(capability_texts, capabilities["description"])
    rng = np.random.default_rng(0)
    pairs = [(i, j) for i in range(len(needs)) for j in range(len(capabilities)) if rng.random() < 0.1]
    for i, j in pairs:
        assert reasons.common_terms(need_records[i], capability_records[j], weight) == \
            oracle_shared_terms(need_texts[i], capability_texts[j], weight), (needs.id[i], capabilities.id[j])
        assert reasons.matching_sentences(need_records[i], capability_records[j], weight) == \
            oracle_best_sentences(needs.description[i], capabilities.description[j], weight)


@pytest.mark.parametrize("need, capability, absent", [
    ("电池包热失控时不起火", "涂层固化后不起泡", "不起"),      # no fragment across words
    ("红外发射率涂层的发射率测量", "激光发射模块与发射功率", "发射"),  # emissivity is not emission
    ("给出测试时间，内部气孔", "测试时间由我方给出，内部结构", "时间"),  # filler is never a reason
    ("SiC MOSFET times", "sic mosfet mes", "mes"),        # Latin words are whole words
])
def test_shared_terms_are_whole_technical_words(need, capability, absent):
    terms = reasons.shared_terms(need, capability, lambda t: 1.0)
    assert absent not in terms and not any(absent == t.lower() for t in terms)
    assert not set(terms) & FILLER_WORDS


def test_phrases_are_preferred_and_not_repeated_by_their_words():
    assert reasons.shared_terms("碳化硅外延缺陷", "降低碳化硅外延层缺陷密度", lambda t: 1.0) == ["碳化硅外延", "缺陷"]
    assert reasons.shared_terms("SiC MOSFET gate driver design", "a gate driver for SiC modules",
                                lambda t: 1.0) == ["gate driver", "SiC"]
    assert reasons.shared_terms("Ｓｉｃ外延", "sic外延片", lambda t: 1.0)[0].lower() in {"sic", "sic外延"}


def test_terms_are_ordered_by_idf_weight():
    weight = {"气孔": 5.0, "压铸": 1.0}.get
    assert reasons.shared_terms("压铸的气孔", "压铸 气孔 检测", lambda t: weight(t, 0.0)) == ["气孔", "压铸"]


def test_keywords_join_the_segmentation_dictionary():
    need = reasons.record_terms(["电池包热失控蔓延"], [""], keywords={"热失控"})[0]
    capability = reasons.record_terms(["热失控阻断设计"], [""], keywords={"热失控"})[0]
    assert "热失控" in reasons.common_terms(need, capability, lambda t: 1.0)


def test_rank_pairs_reasons_quote_shared_terms(sample):
    needs, capabilities = sample
    pairs = matcher.rank_pairs(needs, capabilities, top_k=3, weights={"semantic": 0.0})
    with_terms = pairs[pairs["shared_terms"] != ""]
    assert len(with_terms) > len(pairs) / 2
    for row in with_terms.itertuples():
        assert row.reason.startswith("共同术语：" + "、".join(row.shared_terms.split("；")))
        assert re.search(r"匹配强度 \d\.\d\d（[强中弱]）$", row.reason)
        assert f"匹配强度 {row.strength:.2f}（{row.strength_band}）" in row.reason
