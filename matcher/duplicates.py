"""Near-duplicate texts in a growing and shrinking collection, without refitting anything per query.

The similarity is scikit-learn's: character bigrams within words (``char_wb``), sublinear term
frequency, smoothed IDF and L2-normalised rows, as ``TfidfVectorizer(analyzer="char_wb",
ngram_range=(2, 2), sublinear_tf=True)`` fitted on the collection plus the query gives it.
Refitting that per query costs a pass over every text (tokenising, counting, building the
vocabulary); :class:`NearDuplicateIndex` keeps each text's bigram counts and the document
frequencies as texts are added and removed, so a query costs its own bigrams and one
vectorised pass over the stored counts (the IDF of every term changes with each new text, so
row norms are recomputed, not cached), and gives the same cosines as the refit
(``tests/test_duplicates.py`` compares them).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .errors import InputError

__all__ = ["NearDuplicateIndex"]


class NearDuplicateIndex:
    """Character-bigram TF-IDF cosine of a query against every stored text, equal to a refit per query.

    Attributes
    ----------
    n_texts_ : int
        Texts currently held (removed ones excluded).

    Examples
    --------
    >>> index = NearDuplicateIndex().add([1, 2], ["碳化硅外延缺陷表征", "高通量基因测序"])
    >>> index.similar("碳化硅外延缺陷的表征", threshold=0.5)
    [(1, 0.7...)]
    """

    def __init__(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._analyse = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2)).build_analyzer()
        self._vocabulary = {}
        self._frequency = np.zeros(0, dtype=np.int64)
        self._indptr = [0]
        self._indices = np.zeros(0, dtype=np.int32)
        self._weights = np.zeros(0, dtype=np.float32)  # sublinear term frequency, 1 + ln(count)
        self._used = 0
        self._ids = []
        self._active = np.zeros(0, dtype=bool)
        self._position = {}

    @property
    def n_texts_(self):
        return len(self._position)

    def add(self, ids, texts):
        """Store texts under ``ids`` (an id already held is replaced); returns self."""
        for item_id, text in zip(ids, texts):
            if item_id in self._position:
                self.remove([item_id])
            columns, counts = self._columns(text, grow=True)
            self._append(item_id, columns, counts)
        return self

    def remove(self, ids):
        """Forget the texts of ``ids``; returns self. Raises InputError for an id not held."""
        for item_id in ids:
            position = self._position.pop(item_id, None)
            if position is None:
                raise InputError(f"text {item_id!r} is not in the index")
            self._active[position] = False
            start, stop = self._indptr[position], self._indptr[position + 1]
            np.subtract.at(self._frequency, self._indices[start:stop], 1)
        if len(self._ids) > 64 and len(self._position) < len(self._ids) // 2:
            self._compact()
        return self

    def similar(self, text, *, threshold=0.8, limit=5):
        """Stored texts whose cosine with ``text`` is at least ``threshold``, most similar first.

        Only texts sharing one of the query's heaviest bigrams can reach the threshold: with the
        query's unit weights sorted heaviest first, a text that shares none of the shortest prefix
        whose remainder has norm below ``threshold`` has cosine below it (Cauchy–Schwarz). Those
        texts are found with one pass over the stored bigram columns, and only they are scored.

        Returns
        -------
        list of (object, float)
            ``(id, cosine)``, at most ``limit``, ties broken by insertion order; a text sharing no
            bigram with the query (cosine 0) is never returned.
        """
        if not self._position:
            return []
        columns, counts = self._columns(text, grow=False)
        known = columns >= 0
        n_documents = len(self._position) + 1  # the query is part of the collection, as in a refit
        frequency = self._frequency.astype(np.float64)
        frequency[columns[known]] += 1
        idf = np.log((1 + n_documents) / (1 + frequency)) + 1
        # Bigrams no stored text has: document frequency 1 (the query's own), in the query's norm only.
        weights = (1 + np.log(counts)) * np.where(known, idf[np.maximum(columns, 0)], np.log((1 + n_documents) / 2) + 1)
        norm = float(np.sqrt(np.sum(weights ** 2)))
        if not known.any() or norm == 0:
            return []
        unit = weights / norm
        order = np.argsort(-unit, kind="stable")
        remainder = np.sqrt(np.cumsum((unit[order] ** 2)[::-1])[::-1])  # norm of order[i:]
        cut = int(np.argmax(remainder < threshold - 1e-9)) if (remainder < threshold - 1e-9).any() else len(order)
        prefix = columns[order[:cut]]
        rows = self._rows_with(prefix[prefix >= 0])
        if not len(rows):
            return []
        cosine = self._cosines(rows, idf, columns[known], unit[known])
        best = np.argsort(-cosine, kind="stable")[:limit]
        return [(self._ids[rows[i]], float(cosine[i])) for i in best if cosine[i] >= threshold and cosine[i] > 0]

    def _rows_with(self, columns):
        """Active rows (positions, ascending) holding any of ``columns``: one pass over the stored columns."""
        wanted = np.zeros(len(self._vocabulary), dtype=bool)
        wanted[columns] = True
        hits = np.flatnonzero(wanted[self._indices[:self._used]])
        indptr = np.asarray(self._indptr, dtype=np.int64)
        rows = np.unique(np.searchsorted(indptr, hits, side="right") - 1)
        return rows[self._active[rows]]

    def _cosines(self, rows, idf, query_columns, query_unit):
        """Exact cosines of the query (unit weights over its known columns) with the given rows."""
        indptr = np.asarray(self._indptr, dtype=np.int64)
        starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
        segment = np.repeat(np.arange(len(rows)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        positions = starts[segment] + offsets
        columns = self._indices[positions]
        values = self._weights[positions].astype(np.float64) * idf[columns]
        dense = np.zeros(len(idf))
        dense[query_columns] = query_unit
        norms = np.sqrt(np.bincount(segment, weights=values ** 2, minlength=len(rows)))
        dots = np.bincount(segment, weights=values * dense[columns], minlength=len(rows))
        return dots / np.maximum(norms, 1e-300)

    def _columns(self, text, *, grow):
        """Bigram columns (``-1`` for bigrams unknown when not growing) and counts of one text."""
        counted = Counter(self._analyse(text))
        columns = np.empty(len(counted), dtype=np.int64)
        for i, term in enumerate(counted):
            column = self._vocabulary.get(term, -1)
            if column < 0 and grow:
                column = self._vocabulary[term] = len(self._vocabulary)
            columns[i] = column
        if grow and len(self._vocabulary) > len(self._frequency):
            self._frequency = np.concatenate([self._frequency, np.zeros(
                max(len(self._vocabulary) - len(self._frequency), len(self._frequency)), dtype=np.int64)])
        return columns, np.fromiter(counted.values(), dtype=np.float64, count=len(counted))

    def _append(self, item_id, columns, counts):
        stop = self._used + len(columns)
        if stop > len(self._indices):  # grow geometrically: amortised O(1) per stored bigram
            size = max(stop, 2 * len(self._indices), 1024)
            self._indices = np.resize(self._indices, size)
            self._weights = np.resize(self._weights, size)
        self._indices[self._used:stop] = columns
        self._weights[self._used:stop] = 1 + np.log(counts)
        self._used = stop
        self._indptr.append(stop)
        self._frequency[columns] += 1
        if len(self._ids) == len(self._active):
            self._active = np.concatenate([self._active, np.zeros(max(16, len(self._active)), dtype=bool)])
        self._active[len(self._ids)] = True
        self._position[item_id] = len(self._ids)
        self._ids.append(item_id)

    def _compact(self):
        """Drop removed texts' rows (after half of the rows were removed)."""
        kept = [(self._ids[p], p) for p in range(len(self._ids)) if self._active[p]]
        indices, weights, indptr = [], [], [0]
        for _item_id, p in kept:
            start, stop = self._indptr[p], self._indptr[p + 1]
            indices.append(self._indices[start:stop])
            weights.append(self._weights[start:stop])
            indptr.append(indptr[-1] + stop - start)
        self._indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
        self._weights = np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32)
        self._used, self._indptr = len(self._indices), indptr
        self._ids = [item_id for item_id, _p in kept]
        self._position = {item_id: p for p, item_id in enumerate(self._ids)}
        self._active = np.ones(len(self._ids), dtype=bool)
