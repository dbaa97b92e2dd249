"""Score every need × capability pair and rank suggestions with reasons.

Signals: dense cosine of the embeddings (``semantic``), BM25 over characters
and character bigrams (``lexical``) and domain agreement (``domain``). The
semantic and lexical signals are min–max normalised per query over its allowed
candidates and summed with weights; per-query normalised score sums measured
better than reciprocal-rank fusion on Chinese abstracts (FACTS.md). That
first-order score is then mixed with a second-order one (``neighbourhood``,
see :mod:`matcher.neighbourhood`): how much the query's best candidates are
each candidate's own nearest neighbours, weighted more for longer queries.

Rules that always hold: a capability is never suggested to a need whose
enterprise qualification is below the capability's tier, never to the same
organisation, and never for an excluded pair; such pairs hold ``-inf``.
"""
from __future__ import annotations

import dataclasses
import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import reasons
from .constraints import allowed_pairs
from .errors import InputError
from .lexical import BM25
from .neighbourhood import profile_similarity, query_weights
from .taxonomy import visibility_mask

#: Shipped fusion weights; see README "Matching quality" for how they were chosen.
DEFAULT_WEIGHTS = {"semantic": 0.6, "lexical": 0.4, "domain": 0.1, "neighbourhood": 0.8}
SIGNALS = tuple(DEFAULT_WEIGHTS)
#: Weight of a domain agreement that rests on an inferred domain. On the CSL dev half (all
#: domains inferred) full weight cost T4 MRR@10 0.008 and T3 P@10 0.010 against 0.25, while
#: given domains gain nDCG@10 on the docking sets (benchmarks/quality.py).
INFERRED_DOMAIN_CONFIDENCE = 0.25
DIRECTIONS = ("need", "capability")


@dataclass
class ScoreMatrix:
    """Fused scores of every pair; rows are needs, columns capabilities.

    Attributes
    ----------
    values : numpy.ndarray, shape (n_needs, n_capabilities)
        Fused score; ``-inf`` where a rule forbids the pair.
    need_ids, capability_ids : numpy.ndarray of str
    components : dict of str to numpy.ndarray, each (n_needs, n_capabilities)
        ``semantic`` (cosine), ``lexical`` (raw BM25), ``lexical_norm`` (BM25
        scaled to [0, 1] per query), ``domain`` (1.0 when domains agree) and
        ``neighbourhood`` (profile cosine in [0, 1]; zeros when its weight is 0).
    excluded_by : numpy.ndarray of str, shape (n_needs, n_capabilities)
        Empty where allowed, else the rule: ``clearance``, ``same_org`` or ``excluded``.
    direction : str
        "need" when each need is a query, "capability" when each capability is.
    lexical_index : BM25, optional
        The fitted lexical index; its IDF weights the shared terms of the reasons.
    """

    values: np.ndarray
    need_ids: np.ndarray
    capability_ids: np.ndarray
    components: dict = field(default_factory=dict)
    excluded_by: np.ndarray = None
    direction: str = "need"
    lexical_index: BM25 = None

    @property
    def allowed(self):
        """Boolean mask (n_needs, n_capabilities) of pairs that may be suggested."""
        return np.isfinite(self.values)

    def top_k(self, k, *, chunk_size=1024):
        """Best ``k`` allowed partners per query as a tidy frame.

        Returns
        -------
        pandas.DataFrame
            Columns ``need_id, capability_id, rank, score``; ranks start at 1.
        """
        values = self.values if self.direction == "need" else self.values.T
        rows, cols, ranks = [], [], []
        for start in range(0, values.shape[0], chunk_size):
            block = values[start:start + chunk_size]
            order = _top_k_indices(block, k)
            for offset, picked in enumerate(order):
                picked = picked[np.isfinite(block[offset, picked])]
                rows.extend([start + offset] * len(picked))
                cols.extend(picked)
                ranks.extend(range(1, len(picked) + 1))
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
        need_index, capability_index = (rows, cols) if self.direction == "need" else (cols, rows)
        return pd.DataFrame({
            "need_id": self.need_ids[need_index], "capability_id": self.capability_ids[capability_index],
            "rank": np.asarray(ranks, dtype=int), "score": self.values[need_index, capability_index],
            "_need": need_index, "_capability": capability_index,
        })


def semantic_scores(need_vectors, capability_vectors):
    """Cosine similarity of unit vectors.

    Parameters
    ----------
    need_vectors : numpy.ndarray, shape (n_needs, dim)
    capability_vectors : numpy.ndarray, shape (n_capabilities, dim)

    Returns
    -------
    numpy.ndarray of float32, shape (n_needs, n_capabilities)
    """
    return np.asarray(need_vectors, dtype=np.float32) @ np.asarray(capability_vectors, dtype=np.float32).T


def lexical_scores(need_texts, capability_texts, *, direction="need", k1=1.2, b=0.75):
    """BM25 of every pair, the query side chosen by ``direction``.

    Returns
    -------
    (numpy.ndarray, BM25)
        Scores of shape (n_needs, n_capabilities) and the fitted index (its IDF
        weights the terms of the reasons).
    """
    if direction == "need":
        index = BM25(k1=k1, b=b).fit(capability_texts)
        return index.scores(need_texts), index
    index = BM25(k1=k1, b=b).fit(need_texts)
    return index.scores(capability_texts).T, index


def fuse_scores(components, weights, allowed, *, direction="need"):
    """Weighted sum of per-query min–max normalised signals; ``-inf`` where not allowed.

    Parameters
    ----------
    components : dict with ``semantic``, ``lexical``, ``domain`` arrays (n_needs, n_capabilities)
    weights : dict of str to float
    allowed : numpy.ndarray of bool, shape (n_needs, n_capabilities)
    direction : {"need", "capability"}
        Normalise over each row (need queries) or each column.

    Returns
    -------
    numpy.ndarray of float32, shape (n_needs, n_capabilities)
    """
    axis = 1 if direction == "need" else 0
    fused = np.zeros(allowed.shape, dtype=np.float32)
    for name in ("semantic", "lexical"):
        if weights.get(name, 0.0):
            fused += weights[name] * _minmax(components[name], allowed, axis)
    if weights.get("domain", 0.0):
        fused += weights["domain"] * components["domain"]
    return np.where(allowed, fused, -np.inf).astype(np.float32)


def record_texts(frame):
    """Text embedded and indexed for each record: title, description and keywords.

    The title is left out where the description already contains it, and
    empty parts leave no stray separators.
    """
    keywords = frame["keywords"].fillna("").str.replace(";", "，") if "keywords" in frame else [""] * len(frame)
    texts = []
    for title, description, words in zip(frame["title"].fillna(""), frame["description"].fillna(""), keywords):
        parts = [title] if title and title not in description else []
        parts += [part for part in (description, words) if part]
        texts.append("。".join(parts))
    return texts


def score_matrix(needs, capabilities, *, embedder=None, weights=None, exclude=None, direction="need"):
    """Score every need against every capability.

    Parameters
    ----------
    needs, capabilities : pandas.DataFrame
        As returned by :func:`matcher.load_needs` / :func:`matcher.load_capabilities`
        (at least ``id``, ``title``, ``description``).
    embedder : matcher.Embedder, optional
        Defaults to the bundled offline model; not loaded when ``weights["semantic"]`` is 0.
    weights : dict, optional
        Any of ``semantic``, ``lexical``, ``domain``, ``neighbourhood`` (non-negative
        floats; ``neighbourhood`` is the largest share of the second-order signal, reached
        by queries of 30 terms or more, and 0 turns it off); missing keys take
        :data:`DEFAULT_WEIGHTS`.
    exclude : pandas.DataFrame, optional
        Pairs never to suggest: columns ``need_id`` and ``capability_id``, or
        ``need_org`` and ``capability_org``.
    direction : {"need", "capability"}, default "need"
        Which side is the query (decides the normalisation axis).

    Returns
    -------
    ScoreMatrix
        ``values`` of shape (n_needs, n_capabilities).

    Examples
    --------
    >>> scores = score_matrix(needs, capabilities, weights={"semantic": 0.0})
    >>> scores.values.shape
    (64, 66)
    """
    weights = _check_weights(weights)
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    need_texts, capability_texts = record_texts(needs), record_texts(capabilities)
    lexical, index = lexical_scores(need_texts, capability_texts, direction=direction)
    shape = (len(needs), len(capabilities))
    semantic = np.zeros(shape, dtype=np.float32)
    vectors = None
    if weights["semantic"] and len(needs) and len(capabilities):
        embedder = embedder if embedder is not None else default_embedder()
        vectors = (embedder.encode(need_texts, role="query"), embedder.encode(capability_texts, role="passage"))
        semantic = semantic_scores(*vectors)
    domain = _domain_agreement(needs, capabilities)
    excluded_by = allowed_pairs(needs, capabilities, exclude=exclude)
    allowed = excluded_by == ""
    axis = 1 if direction == "need" else 0
    components = {"semantic": semantic, "lexical": lexical, "lexical_norm": _scale_by_max(lexical, allowed, axis),
                  "domain": domain, "neighbourhood": np.zeros(shape, dtype=np.float32)}
    values = fuse_scores(components, weights, allowed, direction=direction)
    if weights["neighbourhood"] and values.size:
        candidates = _candidate_scorer(capability_texts if direction == "need" else need_texts,
                                       None if vectors is None else vectors[1 if direction == "need" else 0],
                                       index, weights)
        values, components["neighbourhood"] = _mix_neighbourhood(
            values, allowed, visibility_mask(needs["clearance"], capabilities["classification"]), candidates,
            query_weights(need_texts if direction == "need" else capability_texts, weights["neighbourhood"]),
            direction)
    return ScoreMatrix(values, needs["id"].to_numpy(dtype=object), capabilities["id"].to_numpy(dtype=object),
                       components, excluded_by, direction, index)


def rank_pairs(needs, capabilities, *, top_k=10, direction="need", embedder=None, weights=None, exclude=None,
               scores=None):
    """Suggest the best partners for each need (or each capability), with reasons.

    Parameters
    ----------
    needs, capabilities : pandas.DataFrame
        Validated records (see :func:`matcher.load_needs`).
    top_k : int, default 10
        Suggestions per query.
    direction : {"need", "capability"}, default "need"
        "need" ranks capabilities for each need; "capability" ranks needs for
        each capability (institutes browsing).
    embedder, weights, exclude
        As in :func:`score_matrix`.
    scores : ScoreMatrix, optional
        Reuse a matrix computed before (its direction must match).

    Returns
    -------
    pandas.DataFrame
        One row per suggestion: ``need_id, capability_id, rank, score,
        score_semantic, score_lexical, score_neighbourhood, domain_match, reason, shared_terms,
        need_org, capability_org, need_title, capability_title, need_domain,
        capability_domain, need_clearance, capability_classification``.

    Examples
    --------
    >>> pairs = rank_pairs(needs, capabilities, top_k=3)
    >>> pairs.loc[0, "reason"]
    '共同术语：碳化硅、外延；…'
    """
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise InputError(f"top_k must be a positive integer; got {top_k!r}")
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    scores = _scores_for(needs, capabilities, scores, embedder=embedder, weights=weights, exclude=exclude,
                         direction=direction)
    pairs = scores.top_k(int(top_k))
    return _describe(pairs, needs, capabilities, scores)


def rank_organisations(needs, capabilities, *, top_k=5, direction="need", embedder=None, weights=None,
                       exclude=None, scores=None):
    """Organisation-level view: the best partner organisations per need (or capability).

    An institute's score for a need is its best capability's score; its matching
    capabilities are listed best first.

    Returns
    -------
    pandas.DataFrame
        ``direction="need"``: ``need_id, capability_org, rank, score, capability_ids,
        n_capabilities``; ``direction="capability"``: ``capability_id, need_org, rank,
        score, need_ids, n_needs``.
    """
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    scores = _scores_for(needs, capabilities, scores, embedder=embedder, weights=weights, exclude=exclude,
                         direction=direction)
    pairs = scores.top_k(scores.values.shape[1 if direction == "need" else 0])
    query, partner, side = (("need_id", "capability_id", capabilities) if direction == "need"
                            else ("capability_id", "need_id", needs))
    org_column = "capability_org" if direction == "need" else "need_org"
    pairs[org_column] = pairs[partner].map(dict(zip(side["id"], side["org"])))
    grouped = (pairs.sort_values([query, "score"], ascending=[True, False])
               .groupby([query, org_column], sort=False)
               .agg(score=("score", "max"), ids=(partner, ";".join), count=(partner, "size")).reset_index())
    grouped = grouped.sort_values([query, "score"], ascending=[True, False])
    grouped["rank"] = grouped.groupby(query).cumcount() + 1
    grouped = grouped[grouped["rank"] <= top_k]
    ids, count = ("capability_ids", "n_capabilities") if direction == "need" else ("need_ids", "n_needs")
    grouped = grouped.rename(columns={"ids": ids, "count": count})
    return grouped[[query, org_column, "rank", "score", ids, count]].reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def default_embedder():
    """The process-wide default :class:`~matcher.Embedder` (loaded once, on first use)."""
    from .embed import Embedder

    return Embedder()


def _scores_for(needs, capabilities, scores, *, embedder, weights, exclude, direction):
    """The caller's matrix with the rules re-applied, or a freshly computed one."""
    if scores is None:
        return score_matrix(needs, capabilities, embedder=embedder, weights=weights, exclude=exclude,
                            direction=direction)
    return _enforce_rules(scores, needs, capabilities, exclude, direction)


def _enforce_rules(scores, needs, capabilities, exclude, direction):
    """A caller's matrix with the visibility, same-organisation and exclusion rules applied again."""
    if scores.direction != direction:
        raise InputError(f"scores were computed for direction {scores.direction!r}, not {direction!r}")
    if scores.values.shape != (len(needs), len(capabilities)) or \
            list(scores.need_ids) != needs["id"].tolist() or list(scores.capability_ids) != capabilities["id"].tolist():
        raise InputError("scores do not match these needs and capabilities (ids or order differ)")
    excluded_by = allowed_pairs(needs, capabilities, exclude=exclude)
    if scores.excluded_by is not None:  # keep the rules the matrix was computed with (e.g. its own exclusions)
        excluded_by = np.where(excluded_by == "", scores.excluded_by, excluded_by)
    values = np.where(excluded_by == "", scores.values, -np.inf).astype(np.float32)
    return dataclasses.replace(scores, values=values, excluded_by=excluded_by)


def _candidate_scorer(texts, vectors, index, weights):
    """First-order text scores among the candidates themselves, for a few rows at a time.

    The lexical index was fitted on the candidate side, so it scores candidates
    against candidates directly. Domain agreement is left out: with four coarse
    domains it crowded the neighbour lists (docking_zh nDCG@10 0.827 with it,
    0.858 without; benchmarks/quality.py).
    """
    text_only = {**weights, "domain": 0.0}

    def scores(rows, columns):
        block = {"lexical": index.scores([texts[i] for i in rows])[:, columns]}
        block["semantic"] = (semantic_scores(vectors[rows], vectors[columns]) if vectors is not None
                             else np.zeros_like(block["lexical"]))
        return fuse_scores(block, text_only, np.ones(block["lexical"].shape, dtype=bool))

    return scores


def _mix_neighbourhood(first, allowed, visible, candidates, mixing, direction):
    """``(1 - a) · first + a · neighbourhood``, both min–max scaled per query, ``a`` per query."""
    axis = 1 if direction == "need" else 0
    orient = (lambda matrix: matrix) if direction == "need" else np.transpose
    second = orient(profile_similarity(orient(first), candidates, orient(visible)))
    mixing = mixing[:, None] if direction == "need" else mixing[None, :]
    mixed = (1 - mixing) * _minmax(first, allowed, axis) + mixing * _minmax(second, allowed, axis)
    return np.where(allowed, mixed, -np.inf).astype(np.float32), second


def _describe(pairs, needs, capabilities, scores):
    need_at, capability_at = pairs.pop("_need").to_numpy(), pairs.pop("_capability").to_numpy()
    # A matrix built by hand may lack components: missing signals read as 0.
    component = {name: scores.components.get(name, np.zeros(scores.values.shape, dtype=np.float32))
                 for name in ("semantic", "lexical_norm", "domain", "neighbourhood")}
    pairs["score_semantic"] = component["semantic"][need_at, capability_at]
    pairs["score_lexical"] = component["lexical_norm"][need_at, capability_at]
    pairs["score_neighbourhood"] = component["neighbourhood"][need_at, capability_at]
    pairs["domain_match"] = component["domain"][need_at, capability_at].astype(bool)
    need_texts, capability_texts = record_texts(needs), record_texts(capabilities)
    index = scores.lexical_index if scores.lexical_index is not None else BM25().fit(capability_texts)
    weight = index.term_weight
    used_semantic = bool(np.any(component["semantic"]))
    used_neighbourhood = bool(np.any(component["neighbourhood"]))
    terms, texts = [], []
    for row, (i, j) in enumerate(zip(need_at, capability_at)):
        shared = reasons.shared_terms(need_texts[i], capability_texts[j], weight)
        sentences = reasons.best_sentences(needs["description"].iat[i], capabilities["description"].iat[j], weight)
        terms.append("；".join(shared))
        texts.append(reasons.explain(shared, sentences, needs["domain"].iat[i], capabilities["domain"].iat[j],
                                     semantic=float(pairs["score_semantic"].iat[row]) if used_semantic else None,
                                     lexical=float(pairs["score_lexical"].iat[row]),
                                     neighbourhood=(float(pairs["score_neighbourhood"].iat[row])
                                                    if used_neighbourhood else None)))
    pairs["reason"] = texts
    pairs["shared_terms"] = terms
    for prefix, frame, at in (("need", needs, need_at), ("capability", capabilities, capability_at)):
        for column in ("org", "title", "domain"):
            pairs[f"{prefix}_{column}"] = frame[column].to_numpy()[at]
    pairs["need_clearance"] = needs["clearance"].to_numpy()[need_at]
    pairs["capability_classification"] = capabilities["classification"].to_numpy()[capability_at]
    return pairs.reset_index(drop=True)


def _domain_agreement(needs, capabilities):
    """1 where the domains agree, scaled down where either was inferred rather than given."""
    same = needs["domain"].to_numpy()[:, None] == capabilities["domain"].to_numpy()[None, :]
    confidence = np.where(needs["domain_inferred"].to_numpy(dtype=bool)[:, None]
                          | capabilities["domain_inferred"].to_numpy(dtype=bool)[None, :],
                          INFERRED_DOMAIN_CONFIDENCE, 1.0)
    return (same * confidence).astype(np.float32)


def _prepare(frame, kind):
    """Accept validated records or a raw DataFrame (validated on the fly)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{kind}s must be a pandas DataFrame (use matcher.load_{kind}s for files); "
                         f"got {type(frame).__name__}")
    if "source_row" in frame and "domain_inferred" in frame:
        return frame.reset_index(drop=True)
    from .records import load_capabilities, load_needs

    return (load_needs if kind == "need" else load_capabilities)(frame)


def _check_weights(weights):
    merged = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise InputError(f"unknown weight {name!r}; allowed: {', '.join(SIGNALS)}")
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise InputError(f"weights[{name!r}] must be a non-negative number; got {value!r}")
        merged[name] = float(value)
    if not (merged["semantic"] or merged["lexical"]):
        raise InputError("weights['semantic'] and weights['lexical'] cannot both be 0")
    return merged


def _minmax(values, allowed, axis):
    if not values.size:
        return values.astype(np.float32)
    masked = np.where(allowed, values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: queries with no allowed partner
        low = np.nanmin(masked, axis=axis, keepdims=True)
        high = np.nanmax(masked, axis=axis, keepdims=True)
    span = np.where(high - low > 1e-9, high - low, 1.0)
    return np.nan_to_num((values - low) / span, nan=0.0).astype(np.float32)


def _scale_by_max(values, allowed, axis):
    masked = np.where(allowed, values, 0.0)
    high = masked.max(axis=axis, keepdims=True) if masked.size else masked
    return (values / np.where(high > 1e-9, high, 1.0)).astype(np.float32)


def _top_k_indices(block, k):
    # A stable sort breaks ties by column position, so results are reproducible.
    return np.argsort(-block, axis=1, kind="stable")[:, :k]
