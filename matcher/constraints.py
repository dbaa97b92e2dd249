"""Rules that decide which need × capability pairs may ever be suggested.

One place for them, so every output (score matrix, pair lists, schedules,
web pages) applies the same rules.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

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
    shape = (len(needs), len(capabilities))
    reason = np.full(shape, "", dtype=object)
    if not shape[0] or not shape[1]:
        return reason
    visible = taxonomy.visibility_mask(needs["clearance"], capabilities["classification"])
    reason[~visible] = "clearance"
    need_org = needs["org"].fillna("").to_numpy(dtype=object)
    capability_org = capabilities["org"].fillna("").to_numpy(dtype=object)
    same = (need_org[:, None] == capability_org[None, :]) & (need_org[:, None] != "")
    reason[same & (reason == "")] = "same_org"
    if exclude is not None:
        reason[_excluded_mask(needs, capabilities, exclude) & (reason == "")] = "excluded"
    return reason


def _excluded_mask(needs, capabilities, exclude):
    if not isinstance(exclude, pd.DataFrame):
        raise InputError(f"exclude must be a DataFrame; got {type(exclude).__name__}")
    by_id = {"need_id", "capability_id"} <= set(exclude.columns)
    by_org = {"need_org", "capability_org"} <= set(exclude.columns)
    if not (by_id or by_org):
        raise InputError("exclude needs columns need_id and capability_id, or need_org and capability_org; "
                         f"got {list(exclude.columns)}")
    mask = np.zeros((len(needs), len(capabilities)), dtype=bool)
    if by_id:
        mask |= _pair_mask(needs["id"], capabilities["id"], exclude["need_id"], exclude["capability_id"])
    if by_org:
        mask |= _pair_mask(needs["org"], capabilities["org"], exclude["need_org"], exclude["capability_org"])
    return mask


def _pair_mask(row_keys, column_keys, left, right):
    row_keys = row_keys.astype(str).to_numpy()
    column_keys = column_keys.astype(str).to_numpy()
    pairs = pd.DataFrame({"left": left, "right": right}).dropna().astype(str)
    mask = np.zeros((len(row_keys), len(column_keys)), dtype=bool)
    for key, group in pairs.groupby("left"):
        mask |= np.outer(row_keys == key, np.isin(column_keys, group["right"].to_numpy()))
    return mask
