"""Short Chinese explanations of why a capability is suggested for a need.

Built only from the data: the key terms both texts share, the best-matching
sentence of each side and whether the domains agree.
"""
from __future__ import annotations

import re

from .lexical import ENGLISH_STOPWORDS, analyse, normalise_text

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
    left, right = normalise_text(need_text), normalise_text(capability_text)
    candidates = {}
    for start in range(len(left)):
        if not _WORD_CHAR.match(left[start]) or (start and _is_inside_word(left, start)):
            continue
        end = start + 1
        while end <= len(left) and left[start:end] in right:
            end += 1
        for piece in _SCRIPT_RUN.findall(left[start:end - 1]):
            term = _trim(piece)
            if term and _is_whole(term, right):
                candidates[term] = _term_weight(term, weight)
    kept = []
    for term in sorted(candidates, key=lambda t: (-candidates[t], t)):
        if candidates[term] <= 0 or term in GENERIC_TERMS or any(term in other for other in kept):
            continue
        kept.append(term)
        if len(kept) == max_terms:
            break
    return [_original_case(term, need_text) for term in kept]


def best_sentences(need_text, capability_text, weight):
    """The pair of sentences (one per side) that share the most weighted terms.

    Returns
    -------
    (str, str)
        Each shortened to :data:`MAX_SENTENCE_CHARS` characters.
    """
    need_sentences = _sentences(need_text)
    capability_sentences = _sentences(capability_text)
    capability_grams = [_bigrams(sentence) for sentence in capability_sentences]
    best, best_score = (need_sentences[0], capability_sentences[0]), 0.0
    for need_sentence in need_sentences:
        need_grams = _bigrams(need_sentence)
        for capability_sentence, grams in zip(capability_sentences, capability_grams):
            common = need_grams & grams
            score = sum(weight(g) for g in common)
            if score > best_score:
                best, best_score = (need_sentence, capability_sentence), score
    return tuple(_shorten(s) for s in best)


def explain(terms, sentences, need_domain, capability_domain, *, semantic, lexical, neighbourhood=None):
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
    similarity = f"语义相似度 {semantic:.2f}，" if semantic is not None else ""
    overlap = f"，近邻重合度 {neighbourhood:.2f}" if neighbourhood is not None else ""
    parts.append(f"{similarity}词汇匹配 {lexical:.2f}{overlap}")
    return "；".join(parts)


def _original_case(term, text):
    found = re.search(re.escape(term), str(text), flags=re.IGNORECASE)
    return found.group(0) if found else term


def _is_inside_word(text, start):
    # A Latin match must start at a word boundary ("mes" must not match inside "times").
    return bool(_LATIN.match(text[start])) and bool(_LATIN.match(text[start - 1]))


def _is_whole(term, text):
    if not _LATIN.match(term[-1]):
        return True
    return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text) is not None


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
