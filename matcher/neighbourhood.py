"""Second-order similarity: a need and a capability are close when the need's
best capabilities are the capability's own nearest neighbours.

A description of a few hundred characters says more than its words do: two
texts about the same problem often share few terms and embed only loosely,
while the capabilities that match each of them overlap strongly. Each query's
top-``k`` candidates form a rank-weighted profile (weight ``1/log2(rank+1)``, as
in nDCG), each candidate's top-``k`` neighbours among the candidates form
another, and the cosine of the two profiles is the ``neighbourhood`` signal.

The signal helps descriptions and hurts short keyword queries, whose own top-k
is too uncertain to stand for them (benchmarks/quality.py: docking nDCG@10 and
CSL discipline coherence up, CSL keyword queries unchanged only because the
weight shrinks with query length). So each query mixes it in with a weight
that grows with its length and saturates at :data:`SATURATION_TERMS` terms.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .lexical import analyse
from .topk import top_k_positions

#: Query length (CJK characters plus Latin words) from which the signal takes its full weight.
SATURATION_TERMS = 30
#: Neighbourhood size bounds; in between, k is the square root of the number of candidates.
MIN_K, MAX_K = 5, 50


def neighbourhood_size(n_candidates):
    """Profile length for ``n_candidates``: ``sqrt(n)`` clipped to [5, 50], never above ``n``.

    Examples
    --------
    >>> neighbourhood_size(84), neighbourhood_size(1989), neighbourhood_size(3)
    (9, 45, 3)
    """
    return int(min(n_candidates, np.clip(round(np.sqrt(n_candidates)), MIN_K, MAX_K)))


def query_weights(texts, weight):
    """Per-query mixing weight: ``weight`` scaled by length, saturating at :data:`SATURATION_TERMS`.

    Examples
    --------
    >>> [round(float(w), 2) for w in query_weights(["碳化硅", ""], 0.8)]
    [0.08, 0.0]
    """
    if not weight:
        return np.zeros(len(texts), dtype=np.float32)
    lengths = np.array([len(analyse(text, ngram_range=(1, 1))) for text in texts], dtype=np.float32)
    return (weight * np.minimum(1.0, lengths / SATURATION_TERMS)).astype(np.float32)


def rank_profiles(scores, k):
    """Rank-weighted top-``k`` profile of each row, as unit-length sparse rows.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_rows, n_candidates)
        ``-inf`` marks candidates a row may not use; they never enter its profile.
    k : int

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_rows, n_candidates)
    """
    n_rows, n_candidates = scores.shape
    k = min(k, n_candidates)
    if not (n_rows and k):
        return sp.csr_matrix((n_rows, n_candidates), dtype=np.float32)
    # Ties at the k-th place go to the lower column, so every path builds the same profile.
    row, column, rank = top_k_positions(scores, k)
    weights = np.zeros((n_rows, k), dtype=np.float32)
    weights[row, rank - 1] = (1.0 / np.log2(np.arange(2, k + 2, dtype=np.float32)))[rank - 1]
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    weights = np.divide(weights, norms, out=np.zeros_like(weights), where=norms > 0)
    return sp.csr_matrix((weights[row, rank - 1], (row, column)), shape=scores.shape, dtype=np.float32)


def neighbour_profiles(candidate_scores, columns, *, chunk_size=1024):
    """Rank profile of each candidate in ``columns`` among those same columns.

    Parameters
    ----------
    candidate_scores : callable
        As in :func:`profile_similarity`.
    columns : numpy.ndarray of int
        The candidates a group of queries may see.
    chunk_size : int, default 1024

    Returns
    -------
    scipy.sparse.csr_matrix, shape (len(columns), len(columns))
    """
    k = neighbourhood_size(len(columns))
    return sp.vstack([rank_profiles(candidate_scores(columns[start:start + chunk_size], columns), k)
                      for start in range(0, len(columns), chunk_size)]).tocsr()


def profile_similarity(query_scores, candidate_scores, visible, *, chunk_size=1024):
    """Cosine of each query's profile with each candidate's neighbour profile.

    Parameters
    ----------
    query_scores : numpy.ndarray, shape (n_queries, n_candidates)
        First-order scores, ``-inf`` where a pair is not allowed.
    candidate_scores : callable
        ``candidate_scores(rows, columns)`` returns first-order scores of the
        candidates ``rows`` against the candidates ``columns`` (index arrays),
        shape (len(rows), len(columns)), normalised among those columns only;
        called in chunks of rows so memory stays ``O(chunk_size × n_candidates)``.
    visible : numpy.ndarray of bool, shape (n_queries, n_candidates)
        What each query may see by the visibility rule. Queries with the same
        visibility share candidate profiles built among their visible
        candidates only, so a candidate a query may not see has no influence
        at all on that query's scores.

    Returns
    -------
    numpy.ndarray of float32, shape (n_queries, n_candidates), values in [0, 1]
    """
    n_queries, n_candidates = query_scores.shape
    result = np.zeros((n_queries, n_candidates), dtype=np.float32)
    if not (n_queries and n_candidates):
        return result
    patterns, group_of = np.unique(visible, axis=0, return_inverse=True)
    for group, pattern in enumerate(patterns):
        columns = np.flatnonzero(pattern)
        if not len(columns):
            continue
        neighbours = neighbour_profiles(candidate_scores, columns, chunk_size=chunk_size)
        rows = np.flatnonzero(group_of.ravel() == group)
        result[np.ix_(rows, columns)] = query_similarity(query_scores[np.ix_(rows, columns)], neighbours)
    return result


def query_similarity(query_scores, neighbours):
    """Cosine of each query's rank profile with each candidate's neighbour profile.

    Parameters
    ----------
    query_scores : numpy.ndarray, shape (n_queries, n_columns)
        First-order scores over one group's columns, ``-inf`` where not allowed.
    neighbours : scipy.sparse.csr_matrix, shape (n_columns, n_columns)
        From :func:`neighbour_profiles` over the same columns.

    Returns
    -------
    numpy.ndarray of float32, shape (n_queries, n_columns)
    """
    queries = rank_profiles(query_scores, neighbourhood_size(query_scores.shape[1]))
    return (queries @ neighbours.T).toarray().astype(np.float32)
