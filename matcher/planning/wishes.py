"""Two-sided wishes (必见 / 愿见 / 不见) folded into the planner's pair weight.

The rule
--------
Each side of a pair (the enterprise that owns the need, the institute that owns the
capability) may mark it ``"must"`` (必见), ``"want"`` (愿见) or ``"never"`` (不见), or leave it
unmarked (``""``).

* 不见 from either side: the pair never meets (``excluded_by`` "不见"), whatever the other side says.
* Otherwise ``weight = score + enterprise_weight * value(need side) + value(capability side)``
  with ``value`` 必见 = 2, 愿见 = 1, unmarked = 0.

Scores are fused match strengths in [0, 1], so any wished pair outweighs every unwished one,
必见 outweighs 愿见 from the same side, and among pairs with the same wishes the stronger match
wins. The enterprise side weighs ``enterprise_weight`` (default 1.5, per event in the web app)
because the hosted-buyer model gives the side with the need the larger say. Example with
score 0.4: enterprise 愿见 and institute 必见 gives 0.4 + 1.5 * 1 + 2 = 3.9.

Pairs whose organisations met at an earlier event (``met_before``) are not proposed again
unless one side marks them 必见 or 愿见 (``excluded_by`` "往届已会面").
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["EXCLUDED_MET_BEFORE", "EXCLUDED_NEVER", "WISH_LEVELS", "WISH_VALUES", "wish_weights"]

#: Wish level → value added to the pair weight ("never" vetoes instead).
WISH_VALUES = {"must": 2.0, "want": 1.0, "": 0.0}
#: Every accepted level, in display order.
WISH_LEVELS = ("must", "want", "never")
EXCLUDED_NEVER = "不见"
EXCLUDED_MET_BEFORE = "往届已会面"


def _levels(frame, column, problems):
    if column not in frame.columns:
        return pd.Series("", index=frame.index)
    levels = frame[column].fillna("").astype(str).str.strip()
    bad = ~levels.isin(("",) + WISH_LEVELS)
    for label, value in zip(frame.index[bad], levels[bad]):
        problems.append(f"pairs row {label}: {column} {value!r} is not one of "
                        f"{', '.join(repr(level) for level in ('',) + WISH_LEVELS)}")
    return levels


def wish_weights(pairs, *, enterprise_weight=1.5):
    """Pair weights combining both sides' wishes with the match score.

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per candidate pair with ``score`` (float) and optional ``need_wish``,
        ``capability_wish`` ("", "must", "want" or "never"; missing = "") and ``met_before``
        (bool: the two organisations met at an earlier event).
    enterprise_weight : float, default 1.5
        Multiplier of the need (enterprise) side's wish value; >= 0.

    Returns
    -------
    pandas.DataFrame
        A copy of ``pairs`` with ``weight`` (float; NaN where excluded) and ``excluded_by``
        ("" when the pair may meet, else "不见" or "往届已会面"). Same index and order.

    Raises
    ------
    InputError
        A missing or non-numeric score, an unknown wish level or a negative ``enterprise_weight``.

    Examples
    --------
    >>> weighted = wish_weights(pairs, enterprise_weight=1.5)
    >>> plan = schedule_meetings(weighted[weighted.excluded_by == ""], slots=8, tables=20)
    """
    if (not isinstance(enterprise_weight, numbers.Real) or isinstance(enterprise_weight, bool)
            or not np.isfinite(enterprise_weight) or enterprise_weight < 0):
        raise InputError(f"enterprise_weight must be a finite number >= 0; got {enterprise_weight!r}")
    if "score" not in pairs.columns:
        raise InputError("pairs has no column 'score'; wish_weights needs the match score of every pair")
    problems = []
    score = pd.to_numeric(pairs["score"], errors="coerce").astype(float)
    for label in pairs.index[~np.isfinite(score.to_numpy())]:
        problems.append(f"pairs row {label}: score {pairs.at[label, 'score']!r} is not a finite number")
    need, capability = _levels(pairs, "need_wish", problems), _levels(pairs, "capability_wish", problems)
    if problems:
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise InputError("invalid wishes: " + "; ".join(problems[:20]) + more)
    met = (pairs["met_before"].fillna(False).astype(bool) if "met_before" in pairs.columns
           else pd.Series(False, index=pairs.index))
    never = (need == "never") | (capability == "never")
    wished = need.isin(("must", "want")) | capability.isin(("must", "want"))
    excluded = np.where(never, EXCLUDED_NEVER, np.where(met & ~wished, EXCLUDED_MET_BEFORE, ""))
    weight = (score + float(enterprise_weight) * need.map(WISH_VALUES).fillna(0.0)
              + capability.map(WISH_VALUES).fillna(0.0))
    return pairs.assign(weight=weight.where(excluded == "", np.nan), excluded_by=excluded)
