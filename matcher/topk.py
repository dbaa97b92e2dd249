"""Top-k selection that breaks ties by position, as a stable sort would, without sorting whole rows."""
from __future__ import annotations

import numpy as np


def top_k_positions(values, k):
    """Row, column and rank of the ``k`` largest finite entries of each row, ties broken by column.

    Returns the same pairs as a stable descending sort of each row would, without sorting whole rows.
    """
    n_rows, n_columns = values.shape
    if not (n_rows and n_columns):
        return (np.zeros(0, dtype=int),) * 3
    k = min(k, n_columns)
    threshold = -np.partition(-values, k - 1, axis=1)[:, k - 1]
    row, column = np.nonzero((values >= threshold[:, None]) & np.isfinite(values))
    order = np.lexsort((column, -values[row, column], row))
    row, column = row[order], column[order]
    first = np.searchsorted(row, row)
    rank = np.arange(len(row)) - first + 1
    keep = rank <= k
    return row[keep], column[keep], rank[keep]
