"""Reasons from per-record precomputation against the per-pair substring search they replaced."""
import re

import numpy as np
import pytest
from webapp_helpers import SAMPLE as SAMPLE_DATA

import matcher
from matcher import reasons
from matcher.lexical import BM25, normalise_text
from matcher.records import record_texts


def oracle_shared_terms(need_text, capability_text, weight, max_terms=reasons.MAX_TERMS):
    """The per-pair algorithm as it was: grow a substring from every position while the other text contains it."""
    left, right = normalise_text(need_text), normalise_text(capability_text)
    candidates = {}
    for start in range(len(left)):
        if not reasons._WORD_CHAR.match(left[start]) or (start and reasons._is_inside_word(left, start)):
            continue
        end = start + 1
        while end <= len(left) and left[start:end] in right:
            end += 1
        for piece in reasons._SCRIPT_RUN.findall(left[start:end - 1]):
            term = reasons._trim(piece)
            if term and reasons._is_whole(term, right):
                candidates[term] = reasons._term_weight(term, weight)
    kept = []
    for term in sorted(candidates, key=lambda t: (-candidates[t], t)):
        if candidates[term] <= 0 or term in reasons.GENERIC_TERMS or any(term in other for other in kept):
            continue
        kept.append(term)
        if len(kept) == max_terms:
            break
    return [reasons._original_case(term, need_text) for term in kept]


def oracle_best_sentences(need_text, capability_text, weight):
    need_sentences, capability_sentences = reasons._sentences(need_text), reasons._sentences(capability_text)
    best, best_score = (need_sentences[0], capability_sentences[0]), 0.0
    for need_sentence in need_sentences:
        for capability_sentence in capability_sentences:
            score = sum(weight(g) for g in reasons._bigrams(need_sentence) & reasons._bigrams(capability_sentence))
            if score > best_score:
                best, best_score = (need_sentence, capability_sentence), score
    return tuple(reasons._shorten(s) for s in best)


@pytest.fixture(scope="module")
def sample():
    return matcher.load_needs(SAMPLE_DATA / "needs.csv"), matcher.load_capabilities(SAMPLE_DATA / "capabilities.csv")


def test_precomputed_terms_and_sentences_equal_the_per_pair_search_on_the_sample_data(sample):
    needs, capabilities = sample
    need_texts, capability_texts = record_texts(needs), record_texts(capabilities)
    weight = BM25().fit(capability_texts).term_weight
    need_records = reasons.record_terms(need_texts, needs["description"])
    capability_records = reasons.record_terms(capability_texts, capabilities["description"])
    rng = np.random.default_rng(0)
    pairs = [(i, j) for i in range(len(needs)) for j in range(len(capabilities)) if rng.random() < 0.25]
    for i, j in pairs:
        assert reasons.common_terms(need_records[i], capability_records[j], weight) == \
            oracle_shared_terms(need_texts[i], capability_texts[j], weight), (needs.id[i], capabilities.id[j])
        assert reasons.matching_sentences(need_records[i], capability_records[j], weight) == \
            oracle_best_sentences(needs.description[i], capabilities.description[j], weight)


@pytest.mark.parametrize("need, capability", [
    ("碳化硅外延缺陷", "降低碳化硅外延层缺陷密度"),
    ("SiC MOSFET times", "sic mosfet mes"),
    ("aaaa碳碳碳碳", "aaa碳碳碳"),
    ("", "碳化硅"),
    ("Ｓｉｃ外延", "sic外延片"),
])
def test_suffix_automaton_matches_the_substring_search_on_edge_cases(need, capability):
    assert reasons.shared_terms(need, capability, lambda t: 1.0) == oracle_shared_terms(need, capability, lambda t: 1.0)


def test_match_lengths_are_the_longest_common_prefixes():
    rng = np.random.default_rng(1)
    for _ in range(200):
        text = "".join(rng.choice(list("abc碳"), rng.integers(0, 12)))
        pattern = "".join(rng.choice(list("abcd碳"), rng.integers(0, 12)))
        expected = [max(n for n in range(len(pattern) - i + 1) if pattern[i:i + n] in text)
                    for i in range(len(pattern))]
        assert reasons._SubstringIndex(text).match_lengths(pattern) == expected


def test_rank_pairs_reasons_quote_shared_terms(sample):
    needs, capabilities = sample
    pairs = matcher.rank_pairs(needs, capabilities, top_k=3, weights={"semantic": 0.0})
    with_terms = pairs[pairs["shared_terms"] != ""]
    assert len(with_terms) > len(pairs) / 2
    for row in with_terms.itertuples():
        assert row.reason.startswith("共同术语：" + "、".join(row.shared_terms.split("；")))
        assert re.search(r"匹配强度 \d\.\d\d（[强中弱]）$", row.reason)
        assert f"匹配强度 {row.strength:.2f}（{row.strength_band}）" in row.reason
