"""Calibrated strength (:mod:`matcher.strength`) of standing-library pairs, from statistics kept as items arrive.

A pair's strength needs two signals measured against what the need could meet: its cosine as
a z-score against the capabilities the need may see (mean ``q·μ`` and variance ``qᵀΣq`` of their
vectors) and BM25 coverage (the pair's BM25 over the most the need could score), with the
document frequencies of the capability corpus. In an event both come from the whole ranking
(:mod:`matcher.blockwise`); in a standing library the capabilities change one at a time, so
:class:`StandingStrength` keeps, per tier, the count, sum and sum of outer products of the
capability vectors, and the capability corpus's term document frequencies, number of texts and
total length, all updated on :meth:`~StandingStrength.add` and :meth:`~StandingStrength.remove`.
A pair then costs a dot product and the terms of two texts, never a pass over the library, and
the values equal the event path's on the same capabilities (``tests/test_standing.py``).

The need is always the query (as in a need-direction ranking), so a pair has one strength
whichever of its two items' list shows it.
"""
from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp

from .lexical import _corpus_terms
from .strength import match_strength

__all__ = ["StandingStrength"]

_WORD_BIT = 1 << 62  # CJK n-gram keys (≤ 2 characters) use at most 42 bits; Latin words are hashed above them


class StandingStrength:
    """Strength statistics of a standing capability corpus, updated one capability at a time.

    Parameters
    ----------
    dim : int
        Vector dimension.
    semantic : bool, default True
        Whether vectors come from the calibrated embedder; False uses the lexical-only model
        and keeps no vector statistics.
    k1, b : float, default 1.2, 0.75
        BM25 parameters (those of :class:`matcher.lexical.BM25`).

    Attributes
    ----------
    n_documents_ : int
        Capabilities in the corpus.
    total_length_ : int
        Their terms, in total (BM25's average length is ``total_length_ / n_documents_``).

    Examples
    --------
    >>> stats = StandingStrength(384).add(texts, vectors, levels)
    >>> stats.strengths(need_texts, need_vectors, need_levels, texts, vectors).shape
    (n_needs, n_capabilities)
    """

    def __init__(self, dim, *, semantic=True, k1=1.2, b=0.75):
        self.dim = dim
        self.semantic = semantic
        self.k1 = k1
        self.b = b
        self.n_documents_ = 0
        self.total_length_ = 0
        self._keys = np.zeros(0, dtype=np.int64)  # sorted term keys
        self._frequency = np.zeros(0, dtype=np.int64)  # texts containing each key
        self._moments = {}  # tier level → [count, sum (dim,), sum of outer products (dim, dim)], float64

    def add(self, texts, vectors, levels):
        """Add capabilities (texts, unit vectors (n, dim), tier levels); returns self."""
        self._update(texts, vectors, levels, +1)
        return self

    def remove(self, texts, vectors, levels):
        """Remove capabilities added before, given with the same texts, vectors and levels; returns self."""
        self._update(texts, vectors, levels, -1)
        return self

    def strengths(self, need_texts, need_vectors, need_levels, capability_texts, capability_vectors):
        """Strength of every need–capability pair, shape (n_needs, n_capabilities), float32 in [0, 1].

        ``need_levels`` are what each need's organisation may see (tiers up to it form the background).
        """
        coverage = self.lexical_coverage(need_texts, capability_texts)
        if not self.semantic:
            return match_strength(np.zeros_like(coverage), coverage, semantic=False).reshape(coverage.shape)
        z = self.semantic_z(need_vectors, need_levels, capability_vectors)
        return match_strength(z, coverage).reshape(coverage.shape)

    def lexical_coverage(self, need_texts, capability_texts):
        """BM25 of each pair over the most the need could score, against this corpus's statistics.

        Returns
        -------
        numpy.ndarray of float32, shape (n_needs, n_capabilities)
        """
        n, m = len(need_texts), len(capability_texts)
        owners, keys = _term_keys(list(need_texts) + list(capability_texts))
        if not len(keys) or not n or not m:
            return np.zeros((n, m), dtype=np.float32)
        local, columns = np.unique(keys, return_inverse=True)
        counts = sp.csr_matrix((np.ones(len(keys), dtype=np.float64), (owners, columns)), shape=(n + m, len(local)))
        counts.sum_duplicates()
        queries, documents = counts[:n], counts[n:].tocsr()
        idf = self._idf(local)
        lengths = np.asarray(documents.sum(axis=1)).ravel()
        average = self.total_length_ / self.n_documents_ if self.n_documents_ else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / max(average, 1e-9))
        weights = documents.copy()
        weights.data = documents.data * (self.k1 + 1) / (documents.data + np.repeat(norm, np.diff(documents.indptr)))
        weights = weights @ sp.diags(idf)
        scores = np.asarray((queries @ weights.T).todense())
        ceiling = np.asarray(queries @ (idf * (self.k1 + 1))).ravel()
        return (scores / np.where(ceiling > 1e-9, ceiling, 1.0)[:, None]).astype(np.float32)

    def semantic_z(self, need_vectors, need_levels, capability_vectors):
        """Cosine of each pair as a z-score against the capabilities each need may see (tier ≤ its level).

        Returns
        -------
        numpy.ndarray of float32, shape (n_needs, n_capabilities)
        """
        need_vectors = np.asarray(need_vectors, dtype=np.float64).reshape(-1, self.dim)
        cosine = need_vectors @ np.asarray(capability_vectors, dtype=np.float64).reshape(-1, self.dim).T
        levels = np.asarray(need_levels).reshape(-1)
        mean, spread = np.zeros(len(need_vectors)), np.ones(len(need_vectors))
        for level in np.unique(levels):
            moments = [value for tier, value in self._moments.items() if tier <= level and value[0] > 0]
            count = sum(value[0] for value in moments)
            if not count:
                continue
            centre = sum(value[1] for value in moments) / count
            second = sum(value[2] for value in moments) / count
            at = levels == level
            mean[at] = need_vectors[at] @ centre
            variance = np.einsum("ij,jk,ik->i", need_vectors[at], second, need_vectors[at]) - mean[at] ** 2
            spread[at] = np.sqrt(np.maximum(variance, 1e-12))
        return ((cosine - mean[:, None]) / spread[:, None]).astype(np.float32)

    def _idf(self, keys):
        at = np.searchsorted(self._keys, keys)
        inside = at < len(self._keys)
        frequency = np.zeros(len(keys), dtype=np.float64)
        hit = np.zeros(len(keys), dtype=bool)
        hit[inside] = self._keys[at[inside]] == keys[inside]
        frequency[hit] = self._frequency[at[hit]]
        n = self.n_documents_
        return np.where(frequency > 0, np.log1p((n - frequency + 0.5) / (frequency + 0.5)), 0.0)

    def _update(self, texts, vectors, levels, sign):
        texts = list(texts)
        owners, keys = _term_keys(texts)
        pairs = np.unique(np.stack([owners, keys]), axis=1) if len(keys) else np.zeros((2, 0), dtype=np.int64)
        unique, counts = np.unique(pairs[1], return_counts=True)
        at = np.searchsorted(self._keys, unique)
        known = np.zeros(len(unique), dtype=bool)
        inside = at < len(self._keys)
        known[inside] = self._keys[at[inside]] == unique[inside]
        if sign < 0 and not known.all():
            raise ValueError("remove() was given a text whose terms were never added")
        self.n_documents_ += sign * len(texts)
        self.total_length_ += sign * len(keys)
        np.add.at(self._frequency, at[known], sign * counts[known])
        if (~known).any():
            self._keys = np.insert(self._keys, at[~known], unique[~known])
            self._frequency = np.insert(self._frequency, at[~known], counts[~known])
        if self.semantic and len(texts):
            vectors = np.asarray(vectors, dtype=np.float64).reshape(len(texts), self.dim)
            for level in np.unique(levels):
                chosen = vectors[np.asarray(levels) == level]
                moments = self._moments.setdefault(int(level), [0, np.zeros(self.dim), np.zeros((self.dim, self.dim))])
                moments[0] += sign * len(chosen)
                moments[1] += sign * chosen.sum(axis=0)
                moments[2] += sign * (chosen.T @ chosen)


def _term_keys(texts):
    """``(owners, keys)``: the text of each term (:func:`matcher.lexical.analyse` terms) and its int64 key."""
    owners, keys, word_owners, words = _corpus_terms(texts, (1, 2))
    if words:
        hashed = np.fromiter((_WORD_BIT | int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
                              & (_WORD_BIT - 1) for w in words), dtype=np.int64, count=len(words))
        owners = np.concatenate([owners, np.asarray(word_owners, dtype=np.int64)])
        keys = np.concatenate([keys, hashed])
    return owners.astype(np.int64), keys.astype(np.int64)
