"""Query-major scoring in blocks of queries: the exact path behind ``score_matrix`` and ``search_pairs``.

Everything here is oriented queries × candidates, whatever the direction: a
:class:`Problem` holds both sides' texts, vectors, the lexical index fitted on
the candidates, domains and the rules in numbers (:class:`~matcher.constraints.PairRules`).
A block of query rows is scored against every candidate at once, so memory is
``O(block_size × n_candidates)`` plus the candidates' neighbour profiles
(``O(n_candidates × k)``), never ``O(n_queries × n_candidates)``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .neighbourhood import neighbour_profiles, query_similarity
from .taxonomy import DOMAINS
from .topk import top_k_positions

#: Weight of a domain agreement that rests on an inferred domain. On the CSL dev half (all
#: domains inferred) full weight cost T4 MRR@10 0.008 and T3 P@10 0.010 against 0.25, while
#: given domains gain nDCG@10 on the docking sets (benchmarks/quality.py).
INFERRED_DOMAIN_CONFIDENCE = 0.25
#: Columns of the query-major top-k frame :func:`top_k_frame` returns (positions, not ids).
TOP_K_COLUMNS = ("query", "candidate", "rank", "score", "semantic", "semantic_z", "lexical_norm", "lexical_coverage",
                 "neighbourhood", "domain")


@dataclass
class Problem:
    """One ranking, query-major: each query scores every candidate it may see.

    Attributes
    ----------
    query_texts, candidate_texts : list of str
    query_vectors, candidate_vectors : numpy.ndarray (n, dim) or None
        None when the semantic weight is 0.
    index : matcher.lexical.BM25
        Fitted on the candidate texts.
    query_terms, candidate_terms : scipy.sparse.csr_matrix
        Term counts of each side over ``index``'s vocabulary.
    query_domains, candidate_domains : numpy.ndarray of int
        Codes into :data:`~matcher.taxonomy.DOMAINS`.
    query_inferred, candidate_inferred : numpy.ndarray of bool
    rules : matcher.constraints.PairRules
    weights : dict of str to float
    mixing : numpy.ndarray of float32, shape (n_queries,)
        Per-query weight of the neighbourhood signal.
    backgrounds : dict, optional
        Filled on first use by :func:`semantic_z`: mean and covariance of the
        candidate vectors each visibility group may see.

    ``query_terms`` are reweighted on construction so that each query's BM25 uses the
    IDF of the candidates it may see (:meth:`visible_terms`).
    """

    query_texts: list
    candidate_texts: list
    query_vectors: np.ndarray
    candidate_vectors: np.ndarray
    index: object
    query_terms: object
    candidate_terms: object
    query_domains: np.ndarray
    candidate_domains: np.ndarray
    query_inferred: np.ndarray
    candidate_inferred: np.ndarray
    rules: object
    weights: dict
    mixing: np.ndarray
    backgrounds: dict = None
    term_scales: dict = field(default_factory=dict)

    def __post_init__(self):
        self.query_terms = self.visible_terms(self.query_terms, self.rules.query_levels)

    @property
    def shape(self):
        return len(self.query_texts), len(self.candidate_texts)

    def visible_terms(self, terms, levels):
        """``terms`` rows reweighted so that BM25 counts IDF over the candidates each row may see.

        The index's document weights carry the IDF of every candidate; multiplying a
        row's term counts by ``idf_visible / idf_all`` gives exactly the BM25 of an index
        of the visible candidates, so a hidden candidate's words change no statistic of a
        query that may not see it.

        Parameters
        ----------
        terms : scipy.sparse.csr_matrix, shape (n_rows, n_terms)
        levels : int or numpy.ndarray of int, shape (n_rows,)
            Tier level of each row (or one for all).
        """
        levels = np.broadcast_to(np.asarray(levels), (terms.shape[0],))
        candidate_levels = self.rules.candidate_levels
        if not len(candidate_levels) or np.all(candidate_levels <= levels.min(initial=candidate_levels.max())):
            return terms
        terms = sp.csr_matrix(terms, dtype=np.float32, copy=True)
        entry_levels = np.repeat(levels, np.diff(terms.indptr))
        for level in np.unique(levels):
            if level not in self.term_scales:
                visible = np.flatnonzero(candidate_levels <= level)
                self.term_scales[level] = (None if len(visible) == len(candidate_levels)
                                           else self._visible_scale(visible))
            scale = self.term_scales[level]
            if scale is not None:
                at = entry_levels == level
                terms.data[at] *= scale[terms.indices[at]]
        return terms

    def _visible_scale(self, visible):
        # A term no visible candidate has is unknown to such a query: weight 0, as if the
        # index had been fitted on the visible candidates alone (no score, no ceiling).
        seen = np.bincount(self.index.document_counts_[visible].indices, minlength=len(self.index.idf_)) > 0
        return np.where(seen, self.index.idf_over(visible) / np.maximum(self.index.idf_, 1e-12), 0.0)


def domain_codes(domains):
    """Integer code of each canonical domain (for numeric agreement tests)."""
    return pd.Categorical(list(domains), categories=DOMAINS).codes.astype(np.int16)


def first_order(problem, rows, *, codes=None):
    """Fused first-order scores of the query ``rows`` against every candidate.

    Returns
    -------
    (numpy.ndarray, dict, numpy.ndarray)
        Fused scores (len(rows), n_candidates) with ``-inf`` where a rule forbids
        the pair; the components ``semantic``, ``lexical``, ``lexical_norm`` and
        ``domain``; the rule codes (0 = allowed).
    """
    n_candidates = problem.shape[1]
    codes = problem.rules.codes(rows) if codes is None else codes
    allowed = codes == 0
    lexical = problem.index.term_scores(problem.query_terms[rows])
    if problem.query_vectors is not None and n_candidates:
        semantic = problem.query_vectors[rows] @ problem.candidate_vectors.T
    else:
        semantic = np.zeros((len(rows), n_candidates), dtype=np.float32)
    components = {"semantic": semantic, "lexical": lexical, "lexical_norm": scale_by_max(lexical, allowed),
                  "semantic_z": semantic_z(problem, rows, semantic),
                  "lexical_coverage": lexical_coverage(problem, rows, lexical),
                  "domain": domain_agreement(problem, rows)}
    return fuse_scores(components, problem.weights, allowed), components, codes


def lexical_coverage(problem, rows, lexical):
    """BM25 over the most the query could score (every term matched with saturated frequency): in [0, 1].

    Unlike ``lexical_norm`` it does not depend on the other candidates, so it means the
    same across queries and events (an input of :mod:`matcher.strength`).
    """
    ceiling = np.asarray(problem.query_terms[rows] @ (problem.index.idf_ * (problem.index.k1 + 1))).ravel()
    return (lexical / np.where(ceiling > 1e-9, ceiling, 1.0)[:, None]).astype(np.float32)


def semantic_z(problem, rows, semantic):
    """Cosine as a z-score against every candidate the query may see (a background of random pairs).

    The mean and variance over that background come from the visible candidates' mean
    vector and covariance (``q·μ`` and ``qᵀΣq``), so they are exact on the large path
    too, without scoring every pair; candidates above the query's tier take no part.
    """
    if problem.query_vectors is None or not problem.shape[1]:
        return np.zeros(np.shape(semantic), dtype=np.float32)
    if problem.backgrounds is None:
        problem.backgrounds = {}
        for levels, columns in visibility_groups(problem.rules).values():
            moments = _moments(problem.candidate_vectors[columns]) if len(columns) else None
            problem.backgrounds.update(dict.fromkeys(levels, moments))
    vectors = problem.query_vectors[rows].astype(np.float64)
    mean, spread = np.zeros(len(rows)), np.ones(len(rows))
    levels = problem.rules.query_levels[rows]
    for level in np.unique(levels):
        moments = problem.backgrounds.get(level)
        if moments is None:
            continue
        at = levels == level
        mean[at] = vectors[at] @ moments[0]
        spread[at] = np.sqrt(np.maximum(((vectors[at] @ moments[1]) * vectors[at]).sum(axis=1), 1e-12))
    return ((semantic - mean[:, None]) / spread[:, None]).astype(np.float32)


def _moments(vectors):
    """Mean vector and (biased) covariance, accumulated in float32 BLAS and returned as float64.

    The centred float32 product is about three times faster than ``np.cov`` in float64 on
    154,000 vectors (1.0 s against 3.3 s here) and agrees to ~1e-6 relative, far below what a
    z-score needs.
    """
    mean = vectors.mean(axis=0, dtype=np.float64)
    centred = (vectors - mean.astype(vectors.dtype)).astype(np.float32, copy=False)
    return mean, (centred.T @ centred).astype(np.float64) / len(vectors)


def domain_agreement(problem, rows, columns=slice(None)):
    """1 where the domains agree, scaled down where either side's domain was inferred."""
    query_domains, query_inferred = problem.query_domains[rows], problem.query_inferred[rows]
    candidate_domains = problem.candidate_domains[columns]
    candidate_inferred = problem.candidate_inferred[columns]
    if np.ndim(candidate_domains) == 1:
        candidate_domains, candidate_inferred = candidate_domains[None, :], candidate_inferred[None, :]
    same = query_domains[:, None] == candidate_domains
    confidence = np.where(query_inferred[:, None] | candidate_inferred, INFERRED_DOMAIN_CONFIDENCE, 1.0)
    return (same * confidence).astype(np.float32)


def fuse_scores(components, weights, allowed):
    """Weighted sum of per-query (per-row) min–max normalised signals; ``-inf`` where not allowed."""
    fused = np.zeros(allowed.shape, dtype=np.float32)
    for name in ("semantic", "lexical"):
        if weights.get(name, 0.0):
            fused += weights[name] * minmax(components[name], allowed)
    if weights.get("domain", 0.0):
        fused += weights["domain"] * components["domain"]
    return np.where(allowed, fused, -np.inf).astype(np.float32)


def candidate_scorer(problem, level):
    """First-order text scores among the candidates themselves, for a few rows at a time.

    The lexical index was fitted on the candidate side, so it scores candidates
    against candidates directly. Domain agreement is left out: with four coarse
    domains it crowded the neighbour lists (docking_zh nDCG@10 0.827 with it,
    0.858 without; benchmarks/quality.py).
    """
    text_only = {**problem.weights, "domain": 0.0}
    vectors = problem.candidate_vectors

    def scores(rows, columns):
        terms = problem.visible_terms(problem.candidate_terms[rows], level)
        block = {"lexical": problem.index.term_scores(terms)[:, columns]}
        block["semantic"] = (vectors[rows] @ vectors[columns].T if vectors is not None
                             else np.zeros_like(block["lexical"]))
        return fuse_scores(block, text_only, np.ones(block["lexical"].shape, dtype=bool))

    return scores


def visibility_groups(rules):
    """Candidate columns of each visibility group: ``{n_visible: (levels, columns)}``.

    Queries whose levels see the same candidates share one group (and one set of
    neighbour profiles built among those candidates only).
    """
    groups = {}
    for level in np.unique(rules.query_levels):
        columns = np.flatnonzero(rules.candidate_levels <= level)
        levels, _ = groups.get(len(columns), ((), columns))
        groups[len(columns)] = (levels + (level,), columns)
    return groups


def neighbourhoods(problem, *, chunk_size=1024):
    """Neighbour profiles of each visibility group's candidates: ``{levels: (columns, profiles)}``."""
    if not (problem.weights["neighbourhood"] and all(problem.shape)):
        return {}
    return {levels: (columns, neighbour_profiles(candidate_scorer(problem, max(levels)), columns,
                                                 chunk_size=chunk_size))
            for levels, columns in visibility_groups(problem.rules).values() if len(columns)}


def mix_neighbourhood(problem, rows, first, allowed, profiles):
    """``(1 - a) · first + a · neighbourhood``, both min–max scaled per query, ``a`` per query.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Mixed scores (``-inf`` where not allowed) and the neighbourhood signal.
    """
    second = np.zeros(first.shape, dtype=np.float32)
    levels = problem.rules.query_levels[rows]
    for group_levels, (columns, neighbours) in profiles.items():
        inside = np.flatnonzero(np.isin(levels, group_levels))
        if len(inside):
            second[np.ix_(inside, columns)] = query_similarity(first[np.ix_(inside, columns)], neighbours)
    mixing = problem.mixing[rows][:, None]
    mixed = (1 - mixing) * minmax(first, allowed) + mixing * minmax(second, allowed)
    return np.where(allowed, mixed, -np.inf).astype(np.float32), second


def score_block(problem, rows, profiles):
    """Final scores of the query ``rows`` against every candidate.

    Returns
    -------
    (numpy.ndarray, dict, numpy.ndarray)
        Scores (len(rows), n_candidates), ``-inf`` where forbidden; components
        (with ``neighbourhood``); rule codes.
    """
    values, components, codes = first_order(problem, rows)
    components["neighbourhood"] = np.zeros(values.shape, dtype=np.float32)
    if profiles:
        values, components["neighbourhood"] = mix_neighbourhood(problem, rows, values, codes == 0, profiles)
    return values, components, codes


def top_k_frame(problem, k, *, block_size=256, progress=None):
    """Best ``k`` allowed candidates per query, block by block, exactly as the dense matrix ranks them.

    Parameters
    ----------
    problem : Problem
    k : int
    block_size : int, default 256
        Query rows scored at once.
    progress : callable, optional
        ``progress(n_rows_done)`` after each block.

    Returns
    -------
    pandas.DataFrame
        :data:`TOP_K_COLUMNS`: query and candidate positions, rank from 1, the
        score and its components (``lexical_norm`` is BM25 over the query's best).
    """
    profiles = neighbourhoods(problem)
    parts = []
    for start in range(0, problem.shape[0], block_size):
        rows = np.arange(start, min(start + block_size, problem.shape[0]))
        values, components, _ = score_block(problem, rows, profiles)
        row, column, rank = top_k_positions(values, k)
        parts.append(pd.DataFrame({
            "query": rows[row], "candidate": column, "rank": rank, "score": values[row, column],
            **{name: components[name][row, column] for name in TOP_K_COLUMNS[4:]}}))
        if progress is not None:
            progress(len(rows))
    return pd.concat(parts, ignore_index=True) if parts else empty_top_k()


def empty_top_k():
    return pd.DataFrame({name: pd.Series(dtype=int if name in TOP_K_COLUMNS[:3] else np.float32)
                         for name in TOP_K_COLUMNS})


def minmax(values, allowed):
    """Min–max scale each row over its allowed entries (rows with none allowed read 0)."""
    if not values.size:
        return values.astype(np.float32)
    masked = np.where(allowed, values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: queries with no allowed partner
        low = np.nanmin(masked, axis=1, keepdims=True)
        high = np.nanmax(masked, axis=1, keepdims=True)
    span = np.where(high - low > 1e-9, high - low, 1.0)
    return np.nan_to_num((values - low) / span, nan=0.0).astype(np.float32)


def scale_by_max(values, allowed):
    """Each row divided by its largest allowed entry."""
    masked = np.where(allowed, values, 0.0)
    high = masked.max(axis=1, keepdims=True) if masked.size else masked
    return (values / np.where(high > 1e-9, high, 1.0)).astype(np.float32)
