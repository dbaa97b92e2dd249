"""Words and phrases of a record, for the shared terms of a reason.

Chinese is segmented into words with jieba, whose dictionary gets the domain
vocabulary (:data:`matcher.taxonomy.DOMAIN_PROTOTYPES`) and the records' own
keywords; English is split into words. A record's terms are its content words
(two or more CJK characters, or a Latin word of two or more characters, not in
the stop lists) and the phrases of two adjacent content words. Two records
share a term only when both contain it as whole words, so 不起 is never shared
between 不起火 and 不起泡, nor 发射 between 发射 and 发射率.
"""
from __future__ import annotations

import functools
import logging
import re

import jieba

from .lexical import ENGLISH_STOPWORDS, normalise_text
from .taxonomy import DOMAIN_PROTOTYPES

#: Words too general to explain a match on their own (they still count for ranking).
GENERIC_WORDS = frozenset(
    "开发 研发 提高 提升 技术 研究 处理 生产 应用 方法 系统 问题 需求 实现 采用 进行 通过 能力 项目 企业 产品 "
    "设计 优化 要求 目前 希望 现有 我们 我司 公司 团队 课题组 成果 合作 解决 相关 具有 以上 以下 达到 降低 减少 "
    "增加 改进 改善 基于 针对 国内 国外 行业 领域 平台 服务 关键 新型 高效 自主 提出 建立 完成 开展 资料 稳定 "
    "控制 方案 情况 过程 效果 结果 影响 使用 需要 能够 可以 已经".split()
)
#: Filler: words of requests, schedules, quantities and organisations, never technical on their own.
FILLER_WORDS = frozenset(
    "给出 时间 测试 内部 外部 主要 其中 以及 并且 或者 同时 此外 因此 由于 如果 但是 虽然 所以 然后 一种 一套 一批 "
    "一些 多个 多种 各种 每个 部分 整体 全部 其他 其它 方面 方式 手段 措施 工作 任务 目标 指标 条件 环境 情况下 "
    "时候 之后 之前 以后 以前 期间 周期 每年 每天 每月 年度 当前 现在 已有 原有 原来 后续 最终 目的 意义 作用 "
    "较高 较低 较大 较小 很大 很多 不足 不够 不断 不能 无法 可能 必须 应该 需求方 供给方 单位 我方 贵方 对方 用户 "
    "客户 厂家 厂商 本所 本院 本校 我院 我校 学校 大学 研究院 研究所 实验室 中心 集团 有限公司 股份 合作方 联系 "
    "提供 支持 协助 帮助 寻求 寻找 希望能 期望 计划 准备 拟 开展 推进 推动 促进 满足 保证 保障 确保 形成 获得 "
    "取得 具备 拥有 包括 包含 涉及 主要是 左右 以内 以上 大约 约 超过 不超过 小于 大于 之间 万元 元 吨 个 台 套".split()
)
STOP_WORDS = GENERIC_WORDS | FILLER_WORDS
_CJK = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_LATIN = re.compile(r"^[a-z0-9][a-z0-9\-+.]*$")
_CJK_RUN = re.compile(r"([\u3400-\u9fff\uf900-\ufaff]+)")
_OTHER_TOKEN = re.compile(r"[a-z0-9][a-z0-9+\-.]*|\s+|[^\sa-z0-9]")


@functools.lru_cache(maxsize=1)
def _base_tokenizer():
    """jieba's dictionary plus the domain vocabulary (loaded once per process)."""
    # jieba writes its dictionary loading to stderr at DEBUG through its own handler; quiet only its logger.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for words in DOMAIN_PROTOTYPES.values():
        for word in words.split():
            tokenizer.add_word(normalise_text(word))
    return tokenizer


@functools.lru_cache(maxsize=4)
def tokenizer_for(keywords=frozenset()):
    """A jieba tokenizer that also knows ``keywords`` (a frozenset of the records' keywords).

    The base dictionary is copied, not reloaded, so a ranking pays for its own keywords only.
    """
    base = _base_tokenizer()
    if not keywords:
        return base
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base.FREQ), base.total, True
    for keyword in keywords:
        keyword = normalise_text(keyword).strip()
        if 2 <= len(keyword) <= 20 and " " not in keyword:
            tokenizer.add_word(keyword)
    return tokenizer


def record_words(text, *, tokenizer=None):
    """Content words and two-word phrases of ``text``, in order of first occurrence.

    Parameters
    ----------
    text : str
    tokenizer : jieba.Tokenizer, optional
        From :func:`tokenizer_for`; the domain vocabulary alone by default.

    Returns
    -------
    tuple of str
        Normalised (NFKC, lower-case); CJK phrases are written together, Latin ones with a space.

    Examples
    --------
    >>> record_words("碳化硅外延缺陷控制")
    ('碳化硅', '碳化硅外延', '外延', '外延缺陷', '缺陷')
    """
    tokenizer = tokenizer or _base_tokenizer()
    out, previous = {}, None
    for token in _segment(normalise_text(text), tokenizer):
        if token == " " and previous is not None and _LATIN.match(previous):
            continue  # a space between Latin words does not break a phrase
        word = token.strip("-+.")
        kept = _content_word(word)
        if kept and previous is not None:
            out.setdefault(_join(previous, word), None)
        if kept:
            out.setdefault(word, None)
        previous = word if kept else None
    return tuple(out)


@functools.lru_cache(maxsize=65536)
def _segment(text, tokenizer):
    # jieba's HMM finds domain words its dictionary lacks (启停, 调模, 干烧) at about twice the cost;
    # the cache spares a ranking's second direction and unchanged records from cutting them again.
    # Only CJK runs go to jieba: its dictionary would cut Latin words too ("times" → "ti" + "mes").
    tokens = []
    for run in _CJK_RUN.split(text):
        if _CJK.match(run):
            tokens.extend(tokenizer.lcut(run))
        else:
            tokens.extend(" " if piece.isspace() else piece for piece in _OTHER_TOKEN.findall(run))
    return tuple(tokens)


def _content_word(word):
    if len(word) < 2 or word in STOP_WORDS:
        return False
    if _CJK.match(word):
        return True
    return bool(_LATIN.match(word)) and any(c.isalpha() for c in word) and word not in ENGLISH_STOPWORDS


def _join(left, right):
    return f"{left} {right}" if _LATIN.match(left) and _LATIN.match(right) else left + right


def index_words(text):
    """Words of ``text`` for a full-text index: jieba's search mode (each word and the dictionary words
    inside it) on CJK runs, whole lower-cased Latin words; every token, stop words included.

    Searching for a word finds a text whenever the text's segmentation contains the word, also
    inside a longer word (碳化硅 is found in 碳化硅外延片).

    Returns
    -------
    list of str

    Examples
    --------
    >>> "外延" in index_words("碳化硅外延片缺陷")
    True
    """
    tokenizer = _base_tokenizer()
    words = []
    for run in _CJK_RUN.split(normalise_text(text)):
        if _CJK.match(run):
            words.extend(tokenizer.cut_for_search(run))
        else:
            words.extend(token.strip("-+.") for token in _OTHER_TOKEN.findall(run) if token[0].isalnum())
    return [word for word in words if word]


def query_words(text):
    """The words a search query asks for: jieba's precise segmentation of CJK runs, Latin words.

    Single CJK characters (的, 与, 和) are dropped when the query has longer words; a query of
    single characters keeps them.

    Returns
    -------
    list of str
        Unique, in order of first occurrence.

    Examples
    --------
    >>> query_words("碳化硅的外延")
    ['碳化硅', '外延']
    """
    tokenizer = _base_tokenizer()
    words = []
    for run in _CJK_RUN.split(normalise_text(text)):
        if _CJK.match(run):
            words.extend(tokenizer.lcut(run))
        else:
            words.extend(token.strip("-+.") for token in _OTHER_TOKEN.findall(run) if token[0].isalnum())
    words = list(dict.fromkeys(word for word in words if word))
    longer = [word for word in words if not (len(word) == 1 and _CJK.match(word))]
    return longer or words
