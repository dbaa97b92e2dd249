"""Short Chinese explanations of why a capability is suggested for a need.

Built only from the data: the key terms both texts share, the best-matching
sentence of each side and whether the domains agree.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from .lexical import analyse, normalise_text
from .records import record_texts
from .terms import record_words, tokenizer_for

_WORD_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaffa-z0-9]")
_SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?]?")
MAX_TERMS = 5
MAX_SENTENCE_CHARS = 40


class RecordTerms:
    """What the reasons use of one record, computed once and reused for every pair it is in.

    Parameters
    ----------
    text : str
        The record's indexed text (:func:`matcher.records.record_texts`); its words
        and phrases are the candidate shared terms.
    description : str
        The record's description; the quoted sentences come from it.
    tokenizer : jieba.Tokenizer, optional
        From :func:`matcher.terms.tokenizer_for` (domain vocabulary and keywords).

    Attributes
    ----------
    words : frozenset of str
        Content words and two-word phrases (:func:`matcher.terms.record_words`).
    sentences : tuple of str
        The description's sentences.
    sentence_grams : tuple of frozenset
        The CJK and Latin character bigrams of each sentence.

    Examples
    --------
    >>> need = RecordTerms("碳化硅外延缺陷", "碳化硅外延缺陷。")
    >>> capability = RecordTerms("降低碳化硅外延层缺陷密度", "降低碳化硅外延层缺陷密度。")
    >>> common_terms(need, capability, lambda t: 1.0)
    ['碳化硅外延', '缺陷']
    """

    __slots__ = ("sentence_grams", "sentences", "text", "words")

    def __init__(self, text, description, *, tokenizer=None):
        self.text = str(text)
        self.words = frozenset(record_words(self.text, tokenizer=tokenizer))
        self.sentences = tuple(_sentences(description))
        self.sentence_grams = tuple(frozenset(_bigrams(sentence)) for sentence in self.sentences)


def record_terms(texts, descriptions, *, keywords=()):
    """:class:`RecordTerms` of each record, for reuse across all the pairs it appears in.

    Parameters
    ----------
    texts, descriptions : sequence of str, aligned
    keywords : iterable of str, optional
        The records' keywords, added to the segmentation dictionary.

    Returns
    -------
    list of RecordTerms
    """
    tokenizer = tokenizer_for(frozenset(k for k in keywords if k))
    return [RecordTerms(text, description, tokenizer=tokenizer) for text, description in zip(texts, descriptions)]


def shared_terms(need_text, capability_text, weight, *, max_terms=MAX_TERMS):
    """Key words and phrases that occur as whole words in both texts, most informative first.

    Parameters
    ----------
    need_text, capability_text : str
    weight : callable
        ``weight(term) -> float``, e.g. a BM25 index's IDF; a term scores the
        sum of the weights of its character bigrams (or of its Latin words).
    max_terms : int, default 5

    Returns
    -------
    list of str

    Examples
    --------
    >>> shared_terms("碳化硅外延缺陷", "降低碳化硅外延层缺陷密度", lambda t: 1.0)
    ['碳化硅外延', '缺陷']
    """
    return common_terms(RecordTerms(need_text, ""), RecordTerms(capability_text, ""), weight, max_terms=max_terms)


def common_terms(need, capability, weight, *, max_terms=MAX_TERMS, _weights=None):
    """:func:`shared_terms` of two precomputed records: a set intersection of their words.

    A term inside a better-weighted kept phrase is not repeated (缺陷 after 外延缺陷).

    Parameters
    ----------
    need, capability : RecordTerms
    weight : callable
        As in :func:`shared_terms`.
    max_terms : int, default 5

    Returns
    -------
    list of str
    """
    weights = {} if _weights is None else _weights
    shared = need.words & capability.words
    for term in shared:
        if term not in weights:
            weights[term] = _term_weight(term, weight)
    kept = []
    for term in sorted(shared, key=lambda t: (-weights[t], t)):
        if weights[term] <= 0 or any(_inside(term, other) for other in kept):
            continue
        kept.append(term)
        if len(kept) == max_terms:
            break
    return [_original_case(term, need.text) for term in kept]


def _inside(term, phrase):
    if " " in phrase or " " in term:
        return f" {term} " in f" {phrase} "
    return term in phrase


def best_sentences(need_text, capability_text, weight):
    """The pair of sentences (one per side) that share the most weighted terms.

    Returns
    -------
    (str, str)
        Each shortened to :data:`MAX_SENTENCE_CHARS` characters.
    """
    return matching_sentences(RecordTerms("", need_text), RecordTerms("", capability_text), weight)


def matching_sentences(need, capability, weight):
    """:func:`best_sentences` of two precomputed records (their description sentences)."""
    best, best_score = (need.sentences[0], capability.sentences[0]), 0.0
    for need_sentence, need_grams in zip(need.sentences, need.sentence_grams):
        for capability_sentence, grams in zip(capability.sentences, capability.sentence_grams):
            common = need_grams & grams
            if not common:
                continue
            score = sum(weight(g) for g in common)
            if score > best_score:
                best, best_score = (need_sentence, capability_sentence), score
    return tuple(_shorten(s) for s in best)


def explain_pairs(need_records, capability_records, need_domains, capability_domains, *, weight, semantic,
                  lexical, neighbourhood=None, strength=None, band=None):
    """Reason and shared terms of each pair, from precomputed records.

    Parameters
    ----------
    need_records, capability_records : sequence of RecordTerms, one per pair
        The same object for every pair a record is in (see :func:`record_terms`).
    need_domains, capability_domains : sequence of str, one per pair
    weight : callable
        Term weight, as in :func:`shared_terms`.
    semantic : sequence of float or None
        Cosine of each pair; None when no embedding was used.
    lexical : sequence of float
    neighbourhood : sequence of float, optional
    strength, band : sequence of float / str, optional
        Calibrated strength and band of each pair; quoted instead of the signal values.

    Returns
    -------
    (list of str, list of str)
        The reason of each pair and its shared terms joined with "；".

    Examples
    --------
    >>> need, capability = record_terms(["压铸件气孔"], ["压铸件气孔。"])[0], RecordTerms("真空压铸气孔", "真空压铸。")
    >>> explain_pairs([need], [capability], ["新材料"], ["新材料"], weight=lambda t: 1.0, semantic=None,
    ...               lexical=[0.5])[1]
    ['压铸；气孔']
    """
    weights, reasons, terms = {}, [], []
    for row, (need, capability) in enumerate(zip(need_records, capability_records)):
        shared = common_terms(need, capability, weight, _weights=weights)
        sentences = matching_sentences(need, capability, weight)
        terms.append("；".join(shared))
        reasons.append(explain(shared, sentences, need_domains[row], capability_domains[row],
                               semantic=None if semantic is None else float(semantic[row]),
                               lexical=float(lexical[row]),
                               neighbourhood=None if neighbourhood is None else float(neighbourhood[row]),
                               strength=None if strength is None else (float(strength[row]), band[row])))
    return reasons, terms


def describe_pairs(pairs, needs, capabilities, *, weight, semantic, neighbourhood):
    """Add each suggestion's reason and both records' org, title, domain and tier.

    Parameters
    ----------
    pairs : pandas.DataFrame
        ``need_id, capability_id, rank, score, score_semantic, score_lexical,
        score_neighbourhood, domain_match``, and ``strength, strength_band`` when known (what
        :func:`matcher.search_pairs` returns).
    needs, capabilities : pandas.DataFrame
        Validated records the ids refer to.
    weight : callable
        Term weight (the lexical index's IDF), as in :func:`shared_terms`.
    semantic, neighbourhood : bool
        Whether those signals were used (the reason quotes them only then).

    Returns
    -------
    pandas.DataFrame
        ``pairs`` with ``reason, shared_terms, need_org, need_title, need_domain,
        capability_org, capability_title, capability_domain, need_clearance,
        capability_classification`` added.
    """
    pairs = pairs.reset_index(drop=True).copy()
    need_at = pd.Index(needs["id"]).get_indexer(pairs["need_id"])
    capability_at = pd.Index(capabilities["id"]).get_indexer(pairs["capability_id"])
    keywords = _keywords(needs) | _keywords(capabilities)
    need_records = _records_at(needs, need_at, keywords)
    capability_records = _records_at(capabilities, capability_at, keywords)
    need_domains = needs["domain"].to_numpy()[need_at]
    capability_domains = capabilities["domain"].to_numpy()[capability_at]
    pairs["reason"], pairs["shared_terms"] = explain_pairs(
        need_records, capability_records, need_domains, capability_domains, weight=weight,
        semantic=pairs["score_semantic"].to_numpy() if semantic else None,
        lexical=pairs["score_lexical"].to_numpy(),
        neighbourhood=pairs["score_neighbourhood"].to_numpy() if neighbourhood else None,
        strength=pairs["strength"].to_numpy() if "strength" in pairs else None,
        band=pairs["strength_band"].to_numpy() if "strength_band" in pairs else None)
    for prefix, frame, at in (("need", needs, need_at), ("capability", capabilities, capability_at)):
        for column in ("org", "title", "domain"):
            pairs[f"{prefix}_{column}"] = frame[column].to_numpy()[at]
    pairs["need_clearance"] = needs["clearance"].to_numpy()[need_at]
    pairs["capability_classification"] = capabilities["classification"].to_numpy()[capability_at]
    return pairs


def _keywords(frame):
    """Every keyword of the records (the segmentation dictionary learns them)."""
    if "keywords" not in frame:
        return frozenset()
    return frozenset(k for value in frame["keywords"] for k in str(value).split(";") if k)


def _records_at(frame, positions, keywords=frozenset()):
    """One :class:`RecordTerms` per pair, built once per distinct record."""
    unique, inverse = np.unique(positions, return_inverse=True)
    subset = frame.iloc[unique]
    built = record_terms(record_texts(subset), subset["description"].tolist(), keywords=keywords)
    return [built[i] for i in inverse]


def explain(terms, sentences, need_domain, capability_domain, *, semantic, lexical, neighbourhood=None,
            strength=None):
    """Compose the one-line Chinese reason shown with a suggestion.

    Parameters
    ----------
    terms : list of str
    sentences : (str, str)
    need_domain, capability_domain : str
    semantic : float or None
        Cosine similarity of the pair; None when no embedding was used.
    lexical : float
        Lexical score normalised to [0, 1] within the query.
    neighbourhood : float, optional
        How much the query's best candidates are this candidate's own nearest
        neighbours (profile cosine in [0, 1]); None when the signal was off.
    strength : (float, str), optional
        Calibrated strength and its band (:mod:`matcher.strength`); when given, the reason
        quotes it instead of the per-query signal values, which read high for every query's
        best whatever its quality and so contradicted the strength.

    Returns
    -------
    str
    """
    if terms:
        parts = [f"共同术语：{'、'.join(terms)}"]
    else:
        parts = ["无共同术语（依据语义相似）" if semantic is not None else "无共同术语"]
    parts.append(f"需求「{sentences[0]}」↔ 成果「{sentences[1]}」")
    if need_domain == capability_domain:
        parts.append(f"领域一致（{need_domain}）")
    else:
        parts.append(f"跨领域（{need_domain} → {capability_domain}）")
    if strength is not None:
        parts.append(f"匹配强度 {strength[0]:.2f}（{strength[1]}）")
        return "；".join(parts)
    similarity = f"语义相似度 {semantic:.2f}，" if semantic is not None else ""
    overlap = f"，近邻重合度 {neighbourhood:.2f}" if neighbourhood is not None else ""
    parts.append(f"{similarity}词汇匹配 {lexical:.2f}{overlap}")
    return "；".join(parts)


def _original_case(term, text):
    found = _case_pattern(term).search(str(text))
    return found.group(0) if found else term


@functools.lru_cache(maxsize=4096)
def _case_pattern(term):
    return re.compile(re.escape(term), flags=re.IGNORECASE)


def _term_weight(term, weight):
    return sum(weight(t) for t in analyse(term, ngram_range=(2, 2)))


def _sentences(text):
    found = [s.strip() for s in _SENTENCE.findall(str(text)) if s.strip()]
    return found or [str(text)]


def _bigrams(sentence):
    text = normalise_text(sentence)
    return {text[i:i + 2] for i in range(len(text) - 1) if _WORD_CHAR.match(text[i]) and _WORD_CHAR.match(text[i + 1])}


def _shorten(sentence):
    sentence = sentence.strip().rstrip("。；;，,")
    return sentence if len(sentence) <= MAX_SENTENCE_CHARS else sentence[: MAX_SENTENCE_CHARS - 1] + "…"
