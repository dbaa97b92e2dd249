"""Compiled loops of the large path (numba): sparse lexical search and scores of candidate pairs.

Each takes the CSR arrays of scipy matrices and runs in parallel over queries,
split into ``n_chunks`` interleaved chunks (see :func:`chunks`).
A query never reads a document above its tier level, so a hidden document
takes no slot in its candidate lists.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def lexical_top_k(query_indptr, query_indices, query_data, selective, term_indptr, term_indices, term_data,
                  document_levels, query_levels, n_documents, k, n_chunks):  # pragma: no cover - compiled
    """Top-``k`` documents per query by BM25 over the ``selective`` terms only.

    Returns (ids, scores), each (n_queries, k); ids -1 where a query reached fewer documents.
    """
    n_queries = len(query_indptr) - 1
    ids = np.full((n_queries, k), -1, dtype=np.int64)
    scores = np.zeros((n_queries, k), dtype=np.float32)
    for chunk in numba.prange(n_chunks):
        total = np.zeros(n_documents, dtype=np.float32)
        touched = np.empty(n_documents, dtype=np.int64)
        for query in range(chunk, n_queries, n_chunks):
            n_touched = 0
            level = query_levels[query]
            for entry in range(query_indptr[query], query_indptr[query + 1]):
                term = query_indices[entry]
                if not selective[term]:
                    continue
                weight = query_data[entry]
                for posting in range(term_indptr[term], term_indptr[term + 1]):
                    document = term_indices[posting]
                    if document_levels[document] > level:
                        continue
                    if total[document] == 0.0:
                        touched[n_touched] = document
                        n_touched += 1
                    total[document] += weight * term_data[posting]
            found = touched[:n_touched]
            values = total[found]
            if n_touched > k:
                # The k-th largest value bounds the winners; a stable sort of those alone gives
                # the same order (ties by first touch) as sorting every touched document.
                bound = np.partition(values, n_touched - k)[n_touched - k]
                keep = np.flatnonzero(values >= bound)
                found, values = found[keep], values[keep]
                order = np.argsort(-values, kind="mergesort")[:k]
            else:
                order = np.argsort(-values, kind="mergesort")
            for rank in range(len(order)):
                ids[query, rank] = found[order[rank]]
                scores[query, rank] = values[order[rank]]
            for position in range(n_touched):
                total[touched[position]] = 0.0
    return ids, scores


@numba.njit(parallel=True, cache=True)
def pair_dots(query_indptr, query_indices, query_data, rows, document_indptr, document_indices, document_data,
              candidates, n_terms, n_chunks):  # pragma: no cover - compiled
    """Sparse dot product of query ``rows[i]`` with document ``candidates[i, j]`` (0 where it is -1)."""
    n_rows, width = candidates.shape
    out = np.zeros((n_rows, width), dtype=np.float32)
    for chunk in numba.prange(n_chunks):
        dense = np.zeros(n_terms, dtype=np.float32)
        for i in range(chunk, n_rows, n_chunks):
            row = rows[i]
            for entry in range(query_indptr[row], query_indptr[row + 1]):
                dense[query_indices[entry]] = query_data[entry]
            for j in range(width):
                document = candidates[i, j]
                if document < 0:
                    continue
                total = np.float32(0.0)
                for entry in range(document_indptr[document], document_indptr[document + 1]):
                    total += dense[document_indices[entry]] * document_data[entry]
                out[i, j] = total
            for entry in range(query_indptr[row], query_indptr[row + 1]):
                dense[query_indices[entry]] = 0.0
    return out


@numba.njit(parallel=True, cache=True)
def gather_sparse(indptr, indices, data, candidates):  # pragma: no cover - compiled
    """``matrix[i, candidates[i, j]]`` of a CSR matrix with sorted indices (0 where absent or -1)."""
    n_rows, width = candidates.shape
    out = np.zeros((n_rows, width), dtype=np.float32)
    for i in numba.prange(n_rows):
        columns = indices[indptr[i]:indptr[i + 1]]
        values = data[indptr[i]:indptr[i + 1]]
        for j in range(width):
            column = candidates[i, j]
            if column < 0 or len(columns) == 0:
                continue
            at = np.searchsorted(columns, column)
            if at < len(columns) and columns[at] == column:
                out[i, j] = values[at]
    return out


def chunks(n_rows):
    """Work chunks for ``n_rows`` queries: a few per thread, each reusing one scratch array."""
    return max(1, min(n_rows, numba.get_num_threads() * 4))


@numba.njit(parallel=True, cache=True)
def pair_vector_dots(query_vectors, vectors, candidates):  # pragma: no cover - compiled
    """Dot product of query row ``i`` with ``vectors[candidates[i, j]]`` (0 where it is -1)."""
    n_rows, width = candidates.shape
    dim = vectors.shape[1]
    out = np.zeros((n_rows, width), dtype=np.float32)
    for i in numba.prange(n_rows):
        for j in range(width):
            column = candidates[i, j]
            if column < 0:
                continue
            total = np.float32(0.0)
            for d in range(dim):
                total += query_vectors[i, d] * vectors[column, d]
            out[i, j] = total
    return out


@numba.njit(cache=True, inline="always")
def _sift_down(values, labels, size, at, sign):  # pragma: no cover - compiled
    # Heap with the smallest sign·value at the root (sign 1: a min-heap of the best so far).
    while True:
        child = 2 * at + 1
        if child >= size:
            return
        if child + 1 < size and sign * values[child + 1] < sign * values[child]:
            child += 1
        if sign * values[child] >= sign * values[at]:
            return
        values[at], values[child] = values[child], values[at]
        labels[at], labels[child] = labels[child], labels[at]
        at = child


@numba.njit(parallel=True, cache=True)
def row_extremes(scores, k, far):  # pragma: no cover - compiled
    """Per row, the columns of the ``k`` largest scores (best first) and of the ``far`` smallest.

    One pass over each row with a bounded heap per end (rows in parallel): most
    entries are compared with the heap's root and dropped, which is several times
    cheaper than ``argpartition``'s selection on a copy. Needs ``k + far <= n_columns``.
    """
    n_rows, n_columns = scores.shape
    top = np.empty((n_rows, k), dtype=np.int64)
    bottom = np.empty((n_rows, far), dtype=np.int64)
    for row in numba.prange(n_rows):
        values = scores[row]
        best = np.empty(k, dtype=scores.dtype)
        best_at = np.empty(k, dtype=np.int64)
        worst = np.empty(far, dtype=scores.dtype)
        worst_at = np.empty(far, dtype=np.int64)
        for i in range(k):
            best[i], best_at[i] = values[i], i
        for i in range(k // 2 - 1, -1, -1):
            _sift_down(best, best_at, k, i, 1.0)
        for i in range(far):
            worst[i], worst_at[i] = values[i], i
        for i in range(far // 2 - 1, -1, -1):
            _sift_down(worst, worst_at, far, i, -1.0)
        for column in range(k, n_columns):
            value = values[column]
            if value > best[0]:
                best[0], best_at[0] = value, column
                _sift_down(best, best_at, k, 0, 1.0)
        for column in range(far, n_columns):
            value = values[column]
            if far and value < worst[0]:
                worst[0], worst_at[0] = value, column
                _sift_down(worst, worst_at, far, 0, -1.0)
        order = np.argsort(-best, kind="mergesort")
        # Ties in value go to the lower column, as a stable sort of the whole row would.
        for i in range(k):
            top[row, i] = best_at[order[i]]
        start = 0
        while start < k:
            end = start + 1
            while end < k and best[order[end]] == best[order[start]]:
                end += 1
            top[row, start:end] = np.sort(top[row, start:end])
            start = end
        bottom[row] = worst_at
    return top, bottom
