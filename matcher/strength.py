"""Calibrated match strength: an absolute probability that a suggestion is a useful match.

The fused ``score`` is scaled per query, so every query's best reads high whatever its
quality; it orders suggestions but says nothing across queries. The strength is a
logistic model of two signals that do not depend on the other candidates:

- ``semantic_z``: the pair's cosine as a z-score against every candidate the query may
  see (how far above a background of random pairs it stands), and
- ``lexical_coverage``: BM25 over the most the query could score, in [0, 1].

It was fitted on the graded pairs of the dev halves of ``benchmarks/data/docking_zh`` and
``docking_en`` (grade ≥ 2 = useful) with ``python benchmarks/calibrate.py --fit``, which
prints the coefficients below; the reliability table, Brier score and ECE on the test
halves and the frozen ``holdout_zh`` are in README "Matching quality". Calibrated for the
default embedder (multilingual-e5-small) and the default BM25; with the semantic signal
off the lexical-only model is used.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Logistic coefficients (intercept first), fitted by ``benchmarks/calibrate.py --fit`` on the dev halves.
COEFFICIENTS = {
    "semantic": {"intercept": -6.57, "semantic_z": 1.99, "lexical_coverage": 10.11},
    "lexical": {"intercept": -5.89, "semantic_z": 0.0, "lexical_coverage": 35.92},
}
#: Lower bounds of the bands, strongest first. 中 starts where, on the dev halves, at most 15 % of
#: the needs that have a useful partner would read "no strong match"; 强 is an even chance or better.
BANDS = (("强", 0.5), ("中", 0.25), ("弱", 0.0))
STRENGTH_COLUMNS = ("strength", "strength_band", "no_strong_match")


def match_strength(semantic_z, lexical_coverage, *, semantic=True):
    """Probability that each pair is a useful match (grade ≥ 2 on the docking scale).

    Parameters
    ----------
    semantic_z : array-like of float, shape (n_pairs,)
        Cosine z-score against the query's visible background (ignored when ``semantic`` is False).
    lexical_coverage : array-like of float, shape (n_pairs,)
        BM25 over the query's ceiling, in [0, 1].
    semantic : bool, default True
        Whether the semantic signal was computed; False uses the lexical-only model.

    Returns
    -------
    numpy.ndarray of float32, shape (n_pairs,)
        In [0, 1]; non-decreasing in both inputs.

    Examples
    --------
    >>> match_strength([0.0, 4.0], [0.1, 0.3]).round(2)
    array([0.01, 0.84], dtype=float32)
    """
    model = COEFFICIENTS["semantic" if semantic else "lexical"]
    logit = (model["intercept"] + model["semantic_z"] * np.asarray(semantic_z, dtype=np.float64)
             + model["lexical_coverage"] * np.asarray(lexical_coverage, dtype=np.float64))
    return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)


def strength_band(strength):
    """强 / 中 / 弱 for each strength (see :data:`BANDS`).

    Returns
    -------
    numpy.ndarray of str, same shape as ``strength``
    """
    strength = np.asarray(strength, dtype=np.float64)
    names = np.array([name for name, _ in BANDS], dtype=object)
    bounds = np.array([bound for _, bound in BANDS])
    return names[np.argmax(strength[..., None] >= bounds, axis=-1)]


def add_strength(pairs, *, semantic=True, direction="need"):
    """``pairs`` with ``strength``, ``strength_band`` and ``no_strong_match`` columns added.

    ``no_strong_match`` is True on every suggestion of a query (a need, or a capability
    when ``direction="capability"``) whose best suggestion is 弱.

    Parameters
    ----------
    pairs : pandas.DataFrame
        With ``semantic_z`` and ``lexical_coverage`` (as :func:`matcher.rank_pairs` returns them).
    semantic : bool, default True
    direction : {"need", "capability"}, default "need"

    Returns
    -------
    pandas.DataFrame
        A copy with the three columns added.
    """
    pairs = pairs.copy()
    pairs["strength"] = match_strength(pairs["semantic_z"], pairs["lexical_coverage"], semantic=semantic)
    pairs["strength_band"] = strength_band(pairs["strength"].to_numpy())
    query = "need_id" if direction == "need" else "capability_id"
    best = pairs.groupby(query)["strength"].transform("max") if len(pairs) else pd.Series(dtype=np.float32)
    pairs["no_strong_match"] = (best < BANDS[1][1]).astype(bool)
    return pairs
