"""Rules that decide which need × capability pairs may ever be suggested.

One place for them, so every output (score matrix, pair lists, schedules,
web pages) applies the same rules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import taxonomy
from .errors import InputError

#: Why a pair is forbidden, in the order the rules are checked, with Chinese wording.
EXCLUDED_BY = {
    "clearance": "保密资质不足",
    "same_org": "同一单位",
    "excluded": "已排除（名单或已对接过）",
}


def allowed_pairs(needs, capabilities, *, exclude=None):
    """Which rule, if any, forbids each pair.

    Parameters
    ----------
    needs : pandas.DataFrame
        Columns ``id``, ``org`` and ``clearance``.
    capabilities : pandas.DataFrame
        Columns ``id``, ``org`` and ``classification``.
    exclude : pandas.DataFrame, optional
        Columns ``need_id`` and ``capability_id`` (pairs), or ``need_org`` and
        ``capability_org`` (organisation pairs), or all four.

    Returns
    -------
    numpy.ndarray of str, shape (n_needs, n_capabilities)
        "" where the pair is allowed, else a key of :data:`EXCLUDED_BY`.

    Examples
    --------
    >>> (allowed_pairs(needs, capabilities) == "").mean()
    0.87
    """
    rules = pair_rules(needs, capabilities, exclude=exclude)
    codes = rules.codes(np.arange(len(needs)))
    return np.array(RULE_NAMES, dtype=object)[codes]


#: Rule of each code :meth:`PairRules.codes` returns; code 0 is "allowed".
RULE_NAMES = ("",) + tuple(EXCLUDED_BY)


@dataclass(frozen=True)
class PairRules:
    """The rules of one ranking in numbers, query-major, never a dense matrix.

    A query sees a candidate when ``query_levels[q] >= candidate_levels[c]``
    (tier levels compared numerically); ``same_org`` and ``excluded`` hold the
    other forbidden pairs as sparse (n_queries, n_candidates) matrices.
    """

    query_levels: np.ndarray
    candidate_levels: np.ndarray
    same_org: sp.csr_matrix
    excluded: sp.csr_matrix

    def transpose(self):
        """The same rules with candidates as queries (levels negated so ``>=`` still reads "may see")."""
        return PairRules(-self.candidate_levels, -self.query_levels, self.same_org.T.tocsr(), self.excluded.T.tocsr())

    def visible(self, rows, columns=slice(None)):
        """Boolean (len(rows), n_columns): the visibility rule alone."""
        return self.query_levels[rows][:, None] >= self.candidate_levels[columns][None, :]

    def codes(self, rows):
        """uint8 (len(rows), n_candidates): 0 allowed, else the index of the rule in :data:`RULE_NAMES`."""
        codes = np.where(self.visible(rows), 0, 1).astype(np.uint8)
        for code, matrix in ((2, self.same_org), (3, self.excluded)):
            hit = matrix[rows].toarray() if matrix.nnz else None
            if hit is not None:
                codes[(codes == 0) & hit] = code
        return codes

    def allowed_at(self, rows, columns):
        """Boolean, same shape as ``columns`` (query rows × candidate positions): pairs no rule forbids."""
        allowed = self.query_levels[rows][:, None] >= self.candidate_levels[columns]
        for matrix in (self.same_org, self.excluded):
            if matrix.nnz:
                allowed &= ~_lookup(matrix, rows, columns)
        return allowed


def pair_rules(needs, capabilities, *, exclude=None):
    """The visibility, same-organisation and exclusion rules as :class:`PairRules` (needs as queries).

    Parameters
    ----------
    needs, capabilities, exclude
        As in :func:`allowed_pairs`.

    Returns
    -------
    PairRules
    """
    need_levels = np.array([taxonomy.CLEARANCES[c] for c in needs["clearance"]], dtype=np.int8)
    capability_levels = np.array([taxonomy.CLASSIFICATIONS[c] for c in capabilities["classification"]],
                                 dtype=np.int8)
    shape = (len(needs), len(capabilities))
    need_org = needs["org"].fillna("").astype(str)
    capability_org = capabilities["org"].fillna("").astype(str)
    same = _pair_matrix(need_org, capability_org, need_org[need_org != ""], need_org[need_org != ""], shape)
    excluded = sp.csr_matrix(shape, dtype=bool)
    if exclude is not None:
        excluded = _excluded_matrix(needs, capabilities, exclude, shape)
    return PairRules(need_levels, capability_levels, same, excluded)


def _excluded_matrix(needs, capabilities, exclude, shape):
    if not isinstance(exclude, pd.DataFrame):
        raise InputError(f"exclude must be a DataFrame; got {type(exclude).__name__}")
    by_id = {"need_id", "capability_id"} <= set(exclude.columns)
    by_org = {"need_org", "capability_org"} <= set(exclude.columns)
    if not (by_id or by_org):
        raise InputError("exclude needs columns need_id and capability_id, or need_org and capability_org; "
                         f"got {list(exclude.columns)}")
    matrix = sp.csr_matrix(shape, dtype=bool)
    if by_id:
        matrix = matrix + _pair_matrix(needs["id"], capabilities["id"], exclude["need_id"], exclude["capability_id"],
                                       shape)
    if by_org:
        matrix = matrix + _pair_matrix(needs["org"], capabilities["org"], exclude["need_org"],
                                       exclude["capability_org"], shape)
    return matrix.tocsr()


def _pair_matrix(row_keys, column_keys, left, right, shape):
    """Sparse bool (n_rows, n_columns): True where (row key, column key) is one of the (left, right) pairs."""
    pairs = pd.DataFrame({"left": np.asarray(left, dtype=object), "right": np.asarray(right, dtype=object)})
    pairs = pairs.dropna().astype(str).drop_duplicates()
    rows = pd.DataFrame({"key": pd.Series(row_keys, dtype=object).astype(str).to_numpy(), "row": np.arange(shape[0])})
    columns = pd.DataFrame({"key": pd.Series(column_keys, dtype=object).astype(str).to_numpy(),
                            "column": np.arange(shape[1])})
    joined = (pairs.merge(rows, left_on="left", right_on="key")[["right", "row"]]
              .merge(columns, left_on="right", right_on="key")[["row", "column"]])
    data = np.ones(len(joined), dtype=bool)
    return sp.csr_matrix((data, (joined["row"].to_numpy(), joined["column"].to_numpy())), shape=shape, dtype=bool)


def _lookup(matrix, rows, columns):
    """``matrix[rows[i], columns[i, j]]`` for a sparse bool matrix, as a dense bool array shaped like ``columns``."""
    block = matrix[rows]
    out = np.zeros(columns.shape, dtype=bool)
    for i in np.flatnonzero(np.diff(block.indptr)):
        hits = block.indices[block.indptr[i]:block.indptr[i + 1]]
        out[i] = np.isin(columns[i], hits)
    return out
