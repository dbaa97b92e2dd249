"""The large path: a few cheap searches propose candidates, exact fusion ranks them.

For each query, candidates are the union of its ``n`` best by the dense signal
(exact or approximate search per tier, :class:`~matcher.ann.VectorIndex`), its
``n`` best by BM25 over the selective terms (compiled posting-list walk,
:mod:`matcher.kernels`), the few candidates least similar to it and a fixed
set of probe documents (so the per-query minima of the min–max scaling are
seen), and, for the second-order signal, its ``n`` best by neighbourhood
overlap. Every signal is then computed exactly on those pairs and fused as
:mod:`matcher.blockwise` fuses the full rows; with ``n`` at least the number of
candidates the union is every candidate and the result is the exact one.

Candidates are searched per tier level and a query only searches the tiers it
may see, and each visibility group's neighbour profiles are built from that
group's candidates only: a hidden capability takes no candidate slot, enters
no statistic and no profile of a query that may not see it.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import blockwise, kernels
from .neighbourhood import neighbourhood_size, rank_profiles

#: Candidates per signal and query (dense, lexical, neighbourhood); measured in benchmarks/scale.py.
DEFAULT_CANDIDATES = 40
#: Documents least similar to the query (by the dense signal) added to its candidates.
N_FAR = 4
#: Shortest documents of each tier added to every query's candidates (low BM25 for any query).
N_PROBES = 16
#: A term found in more than this share of the documents does not propose lexical candidates
#: (its exact contribution is still added to every candidate pair).
SELECTIVE_SHARE = 0.05
#: Documents proposed by the selective terms per lexical candidate kept (after exact BM25).
LEXICAL_DEPTH = 4
#: Past this many candidates a query walks the posting lists of at most :data:`QUERY_TERMS` of its
#: selective terms, those of the highest IDF × count; neighbour lists always walk all of them.
#: Measured (benchmarks/scale.py synthetic records, first-order signals): at 8k × 154k 15 % faster
#: with recall@10 0.9995 either way; at 2k × 2k with the neighbourhood signal it cost recall 0.991 →
#: 0.981 for a walk that is cheap there anyway.
PRUNE_ABOVE = 50_000
QUERY_TERMS = 32
#: Neighbour profiles keep the top k (up to 50); their candidates go this many times deeper.
PROFILE_DEPTH = 4


class CandidateSearch:
    """Candidate proposals for one :class:`~matcher.blockwise.Problem` (query-major).

    Parameters
    ----------
    problem : matcher.blockwise.Problem
    vector_index : matcher.ann.VectorIndex, optional
        Dense search over the candidates, one per tier level; exact when None.
    n_candidates : int
    """

    def __init__(self, problem, vector_index, n_candidates, candidate_ids=None):
        from .ann import VectorIndex

        self.problem = problem
        self.n = n_candidates
        levels = problem.rules.candidate_levels
        self.levels = np.unique(levels)
        self.vectors = vector_index
        if problem.candidate_vectors is not None:
            if vector_index is None:
                self.vectors = VectorIndex().build(np.arange(len(levels)), problem.candidate_vectors, levels)
                self.position = np.arange(len(levels))
            else:
                self.position = _positions(vector_index, candidate_ids, levels)
        index = problem.index
        self.documents = index.document_weights_
        self.terms = index.term_documents_
        frequency = np.diff(self.terms.indptr)
        self.selective = frequency <= max(64, SELECTIVE_SHARE * max(problem.shape[1], 1))
        lengths = np.diff(index.document_counts_.indptr)
        self.probes = {level: members[np.argsort(lengths[members], kind="stable")[:N_PROBES]]
                       for level in self.levels for members in [np.flatnonzero(levels == level)]}

    def propose(self, query_vectors, query_terms, level, n=None, *, every_term=False):
        """Candidate columns of each query (rows of ``query_terms``) seeing tiers up to ``level``.

        Returns
        -------
        numpy.ndarray of int64, shape (n_queries, width)
            Sorted per row, -1 for padding and duplicates.
        """
        n_queries = query_terms.shape[0]
        n = self.n if n is None else n
        candidate_levels = self.problem.rules.candidate_levels
        visible = self.levels[self.levels <= level]
        if np.count_nonzero(candidate_levels <= level) <= n:  # every visible candidate: the exact result
            every = np.flatnonzero(candidate_levels <= level)
            return np.broadcast_to(every, (n_queries, len(every))).copy()
        parts = []
        if query_vectors is not None:
            for tier in visible:
                near, _, far = self.vectors.search(query_vectors, n, tier, far=N_FAR)
                parts += [self._at(near), self._at(far)]
        # Selective terms propose LEXICAL_DEPTH × n documents; exact BM25 (all terms) keeps the best n.
        walked = query_terms if every_term else self.walked_terms(query_terms)
        lexical, _ = kernels.lexical_top_k(
            walked.indptr, walked.indices, walked.data, self.selective, self.terms.indptr,
            self.terms.indices, self.terms.data, candidate_levels, np.full(n_queries, level, dtype=np.int8),
            self.problem.shape[1], LEXICAL_DEPTH * n, kernels.chunks(n_queries))
        exact = self.pair_lexical(query_terms, np.arange(n_queries), lexical)
        exact[lexical < 0] = -np.inf
        best = np.argsort(-exact, axis=1, kind="stable")[:, :n]
        parts.append(np.where(np.isfinite(np.take_along_axis(exact, best, axis=1)),
                              np.take_along_axis(lexical, best, axis=1), -1))
        probes = np.concatenate([self.probes[tier] for tier in visible])
        parts.append(np.broadcast_to(probes, (n_queries, len(probes))))
        return unique_rows(np.hstack(parts))

    def walked_terms(self, query_terms):
        """Each query's selective terms, past :data:`PRUNE_ABOVE` candidates at most :data:`QUERY_TERMS`."""
        if QUERY_TERMS is None or self.problem.shape[1] <= PRUNE_ABOVE:
            return query_terms
        query_terms = sp.csr_matrix(query_terms)
        rows = np.repeat(np.arange(query_terms.shape[0]), np.diff(query_terms.indptr))
        impact = query_terms.data * self.problem.index.idf_[query_terms.indices] * self.selective[query_terms.indices]
        order = np.lexsort((-impact, rows))
        starts = query_terms.indptr[:-1][rows[order]]
        keep = order[(np.arange(len(order)) - starts < QUERY_TERMS) & (impact[order] > 0)]
        keep.sort()
        return sp.csr_matrix((query_terms.data[keep], (rows[keep], query_terms.indices[keep])),
                             shape=query_terms.shape)

    def _at(self, labels):
        return np.where(labels >= 0, self.position[np.maximum(labels, 0)], -1)

    def pair_lexical(self, query_terms, query_rows, columns):
        """Exact BM25 of each query row against its candidate ``columns`` (b, width)."""
        return kernels.pair_dots(query_terms.indptr, query_terms.indices, query_terms.data,
                                 np.asarray(query_rows, dtype=np.int64), self.documents.indptr,
                                 self.documents.indices, self.documents.data, columns, self.documents.shape[1],
                                 kernels.chunks(len(query_rows)))


def unique_rows(columns):
    """Each row sorted with duplicates replaced by -1 (which sorts first)."""
    columns = np.sort(np.asarray(columns, dtype=np.int64), axis=1)
    duplicate = np.zeros(columns.shape, dtype=bool)
    duplicate[:, 1:] = columns[:, 1:] == columns[:, :-1]
    columns[duplicate] = -1
    return np.sort(columns, axis=1)


def merge_rows(left, right):
    return unique_rows(np.hstack([left, right]))


def components_at(search, rows, columns, *, query_vectors, query_terms, term_rows, text_only=False):
    """Signals of each query row against its candidate ``columns`` (b, width); -1 columns read 0."""
    problem = search.problem
    safe = np.maximum(columns, 0)
    lexical = search.pair_lexical(query_terms, term_rows, columns)
    if query_vectors is not None:
        semantic = kernels.pair_vector_dots(np.ascontiguousarray(query_vectors, dtype=np.float32),
                                            problem.candidate_vectors, columns)
    else:
        semantic = np.zeros(columns.shape, dtype=np.float32)
    components = {"semantic": semantic.astype(np.float32), "lexical": lexical}
    if not text_only:
        components["domain"] = blockwise.domain_agreement(problem, rows, safe)
    return components


def first_order_at(search, rows, columns, *, allowed=None):
    """Fused first-order scores of query ``rows`` at their candidate ``columns``."""
    problem = search.problem
    vectors = problem.query_vectors[rows] if problem.query_vectors is not None else None
    components = components_at(search, rows, columns, query_vectors=vectors, query_terms=problem.query_terms,
                               term_rows=rows)
    if allowed is None:
        allowed = (columns >= 0) & problem.rules.allowed_at(rows, np.maximum(columns, 0))
    components["lexical_norm"] = blockwise.scale_by_max(components["lexical"], allowed)
    components["lexical_coverage"] = blockwise.lexical_coverage(problem, rows, components["lexical"])
    components["semantic_z"] = blockwise.semantic_z(problem, rows, components["semantic"])
    return blockwise.fuse_scores(components, problem.weights, allowed), components, allowed


def rank_profile_rows(values, columns, k, n_columns):
    """Rank-weighted top-``k`` profiles (unit rows, CSR (b, n_columns)) from candidate arrays.

    ``columns`` is sorted per row, so ties go to the lower column, as in
    :func:`matcher.neighbourhood.rank_profiles`.
    """
    dense = rank_profiles(values, k)
    row, position = dense.nonzero()
    return sp.csr_matrix((np.asarray(dense[row, position]).ravel(), (row, columns[row, position])),
                         shape=(values.shape[0], n_columns), dtype=np.float32)


def neighbour_profiles(search, columns, level, *, block_size=512, progress=None):
    """Neighbour profiles (CSR (n_candidates, n_candidates), rows ``columns`` filled) of one visibility group."""
    problem = search.problem
    n_candidates = problem.shape[1]
    k = neighbourhood_size(len(columns))
    text_only = {**problem.weights, "domain": 0.0}
    parts = []
    for start in range(0, len(columns), block_size):
        rows = columns[start:start + block_size]
        vectors = problem.candidate_vectors[rows] if problem.candidate_vectors is not None else None
        terms = problem.visible_terms(problem.candidate_terms[rows], level)
        # Neighbour lists walk every term: a whole record as a query (pruning cost recall@10 0.991 →
        # 0.981 at 2k × 2k with the neighbourhood signal on, benchmarks/scale.py).
        proposed = search.propose(vectors, terms, level, max(search.n, PROFILE_DEPTH * k), every_term=True)
        block = components_at(search, rows, proposed, query_vectors=vectors, query_terms=terms,
                              term_rows=np.arange(len(rows)), text_only=True)
        values = blockwise.fuse_scores(block, text_only, proposed >= 0)
        parts.append(rank_profile_rows(values, proposed, k, n_candidates))
        if progress is not None:
            progress(len(rows))
    profiles = sp.vstack(parts).tocsr() if parts else sp.csr_matrix((0, n_candidates), dtype=np.float32)
    placed = sp.csr_matrix((np.ones(len(columns), dtype=np.float32), (columns, np.arange(len(columns)))),
                           shape=(n_candidates, len(columns)))
    return (placed @ profiles).tocsr()


def score_block(search, rows, profiles, group_columns, k_profile):
    """Final scores of query ``rows`` (one visibility group) at their candidates.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, dict)
        Candidate columns (b, width), scores (-inf where not allowed or padding), components.
    """
    problem = search.problem
    level = problem.rules.query_levels[rows].max()
    vectors = problem.query_vectors[rows] if problem.query_vectors is not None else None
    depth = search.n if profiles is None else max(search.n, PROFILE_DEPTH * k_profile)
    columns = search.propose(vectors, problem.query_terms[rows], level, depth)
    first, components, allowed = first_order_at(search, rows, columns)
    if profiles is None:
        components["neighbourhood"] = np.zeros(first.shape, dtype=np.float32)
        return columns, first, components
    query_profiles = rank_profile_rows(first, columns, k_profile, problem.shape[1])
    second = (query_profiles @ profiles.T).tocsr()
    second.sort_indices()
    columns = merge_rows(columns, _top_sparse(second, search.n))
    first, components, allowed = first_order_at(search, rows, columns)
    overlap = kernels.gather_sparse(second.indptr, second.indices, second.data, columns)
    low = np.where(allowed, overlap, np.inf).min(axis=1, initial=np.inf)
    # Columns outside the candidates have no overlap unless the row overlaps every group column.
    covers = np.diff(second.indptr) >= len(group_columns)
    low = np.where(covers, low, np.minimum(low, 0.0))
    high = np.where(allowed, overlap, -np.inf).max(axis=1, initial=-np.inf)
    low, high = np.where(np.isfinite(low), low, 0.0), np.where(np.isfinite(high), high, 0.0)
    span = np.where(high - low > 1e-9, high - low, 1.0)
    mixing = problem.mixing[rows][:, None]
    mixed = (1 - mixing) * blockwise.minmax(first, allowed) + mixing * ((overlap - low[:, None]) / span[:, None])
    components["neighbourhood"] = overlap
    return columns, np.where(allowed, mixed, -np.inf).astype(np.float32), components


def _top_sparse(matrix, n):
    """Columns of the ``n`` largest entries of each CSR row (-1 padded)."""
    out = np.full((matrix.shape[0], n), -1, dtype=np.int64)
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if end == start:
            continue
        values = matrix.data[start:end]
        keep = np.argsort(-values, kind="stable")[:n] if end - start > n else np.arange(end - start)
        out[row, :len(keep)] = matrix.indices[start:end][keep]
    return out


def top_k_frame(problem, k, *, n_candidates=DEFAULT_CANDIDATES, vector_index=None, candidate_ids=None,
                block_size=256, progress=None):
    """Best ``k`` allowed candidates per query from proposed candidates, group by group, block by block.

    Parameters
    ----------
    problem : matcher.blockwise.Problem
    k : int
    n_candidates : int, default :data:`DEFAULT_CANDIDATES`
        Candidates per signal; at least the number of candidates gives the exact result.
    vector_index : matcher.ann.VectorIndex, optional
        Dense search over the candidates (ids ``candidate_ids``); built exact when None.
    candidate_ids : sequence, optional
        Ids of the candidates, to align a saved ``vector_index``.
    block_size : int, default 256
    progress : callable, optional
        ``progress(stage, n_done, n_total)`` after each block.

    Returns
    -------
    pandas.DataFrame
        As :func:`matcher.blockwise.top_k_frame`.
    """
    import pandas as pd

    search = CandidateSearch(problem, vector_index, n_candidates, candidate_ids)
    parts = []
    for levels, group_columns in blockwise.visibility_groups(problem.rules).values():
        rows_all = np.flatnonzero(np.isin(problem.rules.query_levels, levels))
        if not (len(rows_all) and len(group_columns)):
            continue
        level = max(levels)
        profiles = None
        if problem.weights["neighbourhood"]:
            done = []

            def report(n, total=len(group_columns)):
                done.append(n)
                if progress is not None:
                    progress("neighbours", sum(done), total)

            profiles = neighbour_profiles(search, group_columns, level, progress=report)
        k_profile = neighbourhood_size(len(group_columns))
        for start in range(0, len(rows_all), block_size):
            rows = rows_all[start:start + block_size]
            columns, values, components = score_block(search, rows, profiles, group_columns, k_profile)
            row, position, rank = blockwise.top_k_positions(values, k)
            parts.append(pd.DataFrame({
                "query": rows[row], "candidate": columns[row, position], "rank": rank,
                "score": values[row, position],
                **{name: components[name][row, position] for name in blockwise.TOP_K_COLUMNS[4:]}}))
            if progress is not None:
                progress("queries", len(rows), len(rows_all))
    if not parts:
        return blockwise.empty_top_k()
    return pd.concat(parts, ignore_index=True).sort_values(["query", "rank"], kind="stable").reset_index(drop=True)


def _positions(vector_index, candidate_ids, levels):
    """Position in the problem of each label of a caller's index; every candidate must be in it at its tier."""
    import pandas as pd

    from .errors import InputError

    if candidate_ids is None:
        raise InputError("a vector index needs the candidates' ids to align with")
    position = pd.Index(candidate_ids).get_indexer(vector_index.ids_)
    position[~vector_index.active_] = -1
    covered = np.zeros(len(levels), dtype=bool)
    covered[position[position >= 0]] = True
    if not covered.all():
        missing = np.asarray(candidate_ids, dtype=object)[~covered]
        raise InputError(f"the vector index lacks {len(missing)} candidate(s), e.g. {missing[0]!r}: add them first")
    placed = position >= 0
    if np.any(vector_index.levels_[placed] != levels[position[placed]]):
        raise InputError("the vector index holds candidates at other tier levels than these records")
    return position
