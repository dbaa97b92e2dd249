"""Short Chinese explanations of why a capability is suggested for a need.

Built only from the data: the key terms both texts share, the best-matching
sentence of each side and whether the domains agree.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from .lexical import ENGLISH_STOPWORDS, analyse, normalise_text
from .records import record_texts

#: Characters that never start or end a shared term (function words, conjunctions).
_EDGE_CHARS = set("的了和与及在是对为等将把被从以其或并而且也都各该此这那个于之所由")
#: Words too general to explain a match on their own (they still count for ranking).
GENERIC_TERMS = frozenset(
    "开发 研发 提高 提升 技术 研究 处理 生产 应用 方法 系统 问题 需求 实现 采用 进行 通过 能力 项目 企业 产品 "
    "设计 优化 要求 目前 希望 现有 我们 我司 公司 团队 课题组 成果 合作 解决 相关 具有 以上 以下 达到 降低 减少 "
    "增加 改进 改善 基于 针对 国内 国外 行业 领域 平台 服务 关键 新型 高效 自主 提出 建立 完成 开展 资料 稳定 控制 方案 情况 过程 效果 结果 影响 使用 需要 能够 可以 已经".split()
)
_WORD_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaffa-z0-9]")
_LATIN = re.compile(r"[a-z0-9]")
_SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?]?")
_SCRIPT_RUN = re.compile(r"[\u3400-\u9fff\uf900-\uffef]+|[^\u3400-\u9fff\uf900-\uffef]+")
MAX_TERMS = 5
MAX_SENTENCE_CHARS = 40


class RecordTerms:
    """What the reasons use of one record, computed once and reused for every pair it is in.

    Parameters
    ----------
    text : str
        The record's indexed text (:func:`matcher.records.record_texts`); shared
        terms are looked up in it.
    description : str
        The record's description; the quoted sentences come from it.

    Attributes
    ----------
    normalised : str
        ``text`` NFKC-normalised and lower-cased.
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

    __slots__ = ("text", "normalised", "sentences", "sentence_grams", "_substrings", "_characters", "_pair_weights")

    def __init__(self, text, description):
        self.text = str(text)
        self.normalised = normalise_text(self.text)
        self.sentences = tuple(_sentences(description))
        self.sentence_grams = tuple(frozenset(_bigrams(sentence)) for sentence in self.sentences)
        self._substrings = self._characters = self._pair_weights = None

    @property
    def characters(self):
        """Per character of the normalised text: word character?, CJK word characters before it, end of its script run."""
        if self._characters is None:
            text = self.normalised
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            latin = ((codes >= 0x61) & (codes <= 0x7A)) | ((codes >= 0x30) & (codes <= 0x39))
            cjk = ((codes >= 0x3400) & (codes <= 0x9FFF)) | ((codes >= 0xF900) & (codes <= 0xFAFF))
            word = (latin | cjk).tolist()
            before = [0] + np.cumsum(cjk).tolist()
            run_end = [0] * len(text)
            for run in _SCRIPT_RUN.finditer(text):
                run_end[run.start():run.end()] = [run.end()] * (run.end() - run.start())
            self._characters = (word, before, run_end)
        return self._characters

    def pair_weights(self, weight):
        """``weight`` of the CJK bigram starting at each position (0.0 where none starts), cached per weight."""
        if self._pair_weights is None or self._pair_weights[0] is not weight:
            text = self.normalised
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            run = ((codes >= 0x3400) & (codes <= 0x4DBF)) | ((codes >= 0x4E00) & (codes <= 0x9FFF)) | \
                ((codes >= 0xF900) & (codes <= 0xFAFF))
            starts = (run[:-1] & run[1:]).tolist()
            weights = [weight(text[i:i + 2]) if starts[i] else 0.0 for i in range(len(text) - 1)]
            self._pair_weights = (weight, weights)
        return self._pair_weights[1]

    @property
    def substrings(self):
        """Suffix automaton of the normalised text (built on first use: only capabilities need it)."""
        if self._substrings is None:
            self._substrings = _SubstringIndex(self.normalised)
        return self._substrings


def record_terms(texts, descriptions):
    """:class:`RecordTerms` of each record, for reuse across all the pairs it appears in.

    Parameters
    ----------
    texts, descriptions : sequence of str, aligned

    Returns
    -------
    list of RecordTerms
    """
    return [RecordTerms(text, description) for text, description in zip(texts, descriptions)]


def shared_terms(need_text, capability_text, weight, *, max_terms=MAX_TERMS):
    """Key terms that occur in both texts, most informative first.

    Parameters
    ----------
    need_text, capability_text : str
    weight : callable
        ``weight(term) -> float``, e.g. a BM25 index's IDF; a term scores the
        sum of the weights of its character bigrams (or its own for Latin words).
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
    """:func:`shared_terms` of two precomputed records.

    Every maximal substring of the need text found in the capability text is a
    candidate, cut at script changes and trimmed of function words. The longest
    match from each position comes from the capability's suffix automaton in one
    pass over the need text, so a pair costs a walk over the need, not a
    substring search per position.

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
    left, right = need.normalised, capability.normalised
    word, cjk_before, run_end = need.characters
    pair_weights = need.pair_weights(weight)
    candidates, seen = {}, set()
    for start, size in enumerate(capability.substrings.match_lengths(left)):
        # Anything shorter than two characters trims to nothing, so it is skipped unread.
        if size < 2 or not word[start] or (start and _is_inside_word(left, start)):
            continue
        # The match's script runs (_SCRIPT_RUN pieces of it); a piece seen at an earlier start is the same term.
        stop, begin_at = start + size, start
        while begin_at < stop:
            begin, end = begin_at, run_end[begin_at]
            if end > stop:
                end = stop
            begin_at = end
            if (begin, end) in seen:
                continue
            seen.add((begin, end))
            # _trim, by position: the same edges, and CJK counted from prefix sums.
            while begin < end and (left[begin] in _EDGE_CHARS or not word[begin]):
                begin += 1
            while end > begin and (left[end - 1] in _EDGE_CHARS or not word[end - 1]):
                end -= 1
            cjk = cjk_before[end] - cjk_before[begin]
            term = left[begin:end]
            if not term or term in candidates or (cjk and cjk < 2):
                continue
            if not cjk:
                if not (len(term) >= 2 and term not in ENGLISH_STOPWORDS and any(c.isalpha() for c in term)) \
                        or not _is_whole(term, right):
                    continue
                if term not in weights:
                    weights[term] = _term_weight(term, weight)
                candidates[term] = weights[term]
            else:
                # A CJK term weighs the sum of its bigrams' weights, left to right as analyse() lists them.
                candidates[term] = sum(pair_weights[begin:end - 1])
    kept = []
    for term in sorted(candidates, key=lambda t: (-candidates[t], t)):
        if candidates[term] <= 0 or term in GENERIC_TERMS or any(term in other for other in kept):
            continue
        kept.append(term)
        if len(kept) == max_terms:
            break
    return [_original_case(term, need.text) for term in kept]


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
    need_records = _records_at(needs, need_at)
    capability_records = _records_at(capabilities, capability_at)
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


def _records_at(frame, positions):
    """One :class:`RecordTerms` per pair, built once per distinct record."""
    unique, inverse = np.unique(positions, return_inverse=True)
    subset = frame.iloc[unique]
    built = record_terms(record_texts(subset), subset["description"].tolist())
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


def _is_inside_word(text, start):
    # A Latin match must start at a word boundary ("mes" must not match inside "times").
    return bool(_LATIN.match(text[start])) and bool(_LATIN.match(text[start - 1]))


def _is_whole(term, text):
    # A term ending in a Latin character must not continue a Latin word on either side.
    if not _LATIN.match(term[-1]):
        return True
    at = text.find(term)
    while at != -1:
        after = at + len(term)
        if (at == 0 or not _LATIN.match(text[at - 1])) and (after == len(text) or not _LATIN.match(text[after])):
            return True
        at = text.find(term, at + 1)
    return False


@functools.lru_cache(maxsize=65536)
def _trim(term):
    while term and (term[0] in _EDGE_CHARS or not _WORD_CHAR.match(term[0])):
        term = term[1:]
    while term and (term[-1] in _EDGE_CHARS or not _WORD_CHAR.match(term[-1])):
        term = term[:-1]
    cjk = sum(1 for ch in term if not _LATIN.match(ch) and _WORD_CHAR.match(ch))
    if cjk == 0:
        has_letter = any(ch.isalpha() for ch in term)
        return term if has_letter and len(term) >= 2 and term not in ENGLISH_STOPWORDS else ""
    return term if cjk >= 2 else ""


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


class _SubstringIndex:
    """Suffix automaton of a text, reversed: for every position of a pattern, the
    longest prefix of the pattern from there that occurs in the text, in one pass."""

    __slots__ = ("_next", "_link", "_length")

    def __init__(self, text):
        transitions, link, length, last = [{}], [-1], [0], 0
        for char in reversed(text):
            current = len(transitions)
            transitions.append({})
            length.append(length[last] + 1)
            link.append(0)
            state = last
            while state != -1 and char not in transitions[state]:
                transitions[state][char] = current
                state = link[state]
            if state != -1:
                target = transitions[state][char]
                if length[state] + 1 == length[target]:
                    link[current] = target
                else:
                    clone = len(transitions)
                    transitions.append(dict(transitions[target]))
                    length.append(length[state] + 1)
                    link.append(link[target])
                    while state != -1 and transitions[state].get(char) == target:
                        transitions[state][char] = clone
                        state = link[state]
                    link[target] = link[current] = clone
            last = current
        self._next, self._link, self._length = transitions, link, length

    def match_lengths(self, pattern):
        """``out[i]`` = the largest ``n`` with ``pattern[i:i + n]`` a substring of the text."""
        transitions, link, length = self._next, self._link, self._length
        out = [0] * len(pattern)
        state, size = 0, 0
        for i in range(len(pattern) - 1, -1, -1):
            char = pattern[i]
            while state and char not in transitions[state]:
                state = link[state]
                size = length[state]
            if char in transitions[state]:
                state = transitions[state][char]
                size += 1
            else:
                state, size = 0, 0
            out[i] = size
        return out
