"""Roadshow (路演) programme: which institute talks in which session and track, in what order, to whom.

Talks are split by the 密级 of the capabilities presented. The open programme (session 公开)
presents 公开 capabilities only and so never names a classified one; every other tier gets a
closed session of its own (内部, 秘密, 机密), whose audience is the enterprises whose
qualification allows that tier (:func:`matcher.clearance_allows`). 内部 is not public: by the
visibility rule it needs a qualification (三级 or above), so it is a closed session too.

Within a session an institute gives one talk, in the track (domain) where most of its
capabilities of that tier lie. Each talk invites the enterprises, allowed in the session, that
rank the institute's capabilities highest, and talks run in descending order of that expected
interest within the track.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..taxonomy import (
    CLASSIFICATIONS,
    CLEARANCES,
    DOMAINS,
    clearance_allows,
    normalise_classification,
    normalise_clearance,
    normalise_domain,
)
from .inputs import check_frame

__all__ = ["plan_roadshow"]

#: Sessions in programme order: the open programme first, then one closed session per tier.
SESSIONS = tuple(CLASSIFICATIONS)
OPEN_SESSION = SESSIONS[0]
ROADSHOW_COLUMNS = ["session", "track", "order", "capability_org", "capability_ids", "invited_orgs",
                    "invited_count", "expected_interest"]
_PAIR_COLUMNS = ("need_org", "capability_id", "capability_org", "score")
_MAX_LISTED = 20


def _clean_pairs(pairs):
    check_frame(pairs, "pairs", _PAIR_COLUMNS)
    frame = pairs.copy()
    for column in ("need_org", "capability_id", "capability_org"):
        frame[column] = frame[column].astype(str).str.strip()
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    bad = frame.index[~np.isfinite(frame["score"].to_numpy())]
    if len(bad):
        shown = ", ".join(f"row {label}: score {pairs.at[label, 'score']!r}" for label in bad[:20])
        raise InputError(f"pairs scores must be finite numbers; got {shown}")
    # An empty qualification means 无, as in the records; no column at all means nobody has one.
    declared = frame["need_clearance"] if "need_clearance" in frame.columns else pd.Series("", index=frame.index)
    frame["need_clearance"] = declared.map(normalise_clearance)
    unknown = frame.index[frame["need_clearance"].isna()]
    if len(unknown):
        shown = ", ".join(f"row {label}: {pairs.at[label, 'need_clearance']!r}" for label in unknown[:_MAX_LISTED])
        raise InputError(f"pairs need_clearance must be one of {', '.join(CLEARANCES)}; got {shown}")
    return frame


def _tier_source(frame, name, id_column, column):
    """``capability_id → tier`` from one frame; raises on unknown tiers and on two tiers for one id."""
    values = frame[column]
    tiers = pd.Series([None if pd.isna(v) else normalise_classification(v) for v in values], index=frame.index,
                      dtype=object)
    ids = frame[id_column].astype(str).str.strip()
    unknown = frame.index[tiers.isna()]
    if len(unknown):
        shown = ", ".join(f"row {label} ({ids[label]}): {values[label]!r}" for label in unknown[:_MAX_LISTED])
        raise InputError(f"{name} {column} must be one of {', '.join(SESSIONS)}; got {shown}")
    by_id = pd.DataFrame({"capability_id": ids, "tier": tiers})
    spread = by_id.groupby("capability_id", sort=True)["tier"].unique()
    mixed = spread[spread.map(len) > 1]
    if len(mixed):
        shown = ", ".join(f"{cid}: {' / '.join(t)}" for cid, t in mixed[:_MAX_LISTED].items())
        raise InputError(f"{name} gives one capability several tiers ({shown}); a capability has one 密级")
    return by_id.drop_duplicates("capability_id").set_index("capability_id")["tier"]


def _tiers(pairs, capabilities):
    """``capability_id → tier`` (the capabilities frame wins over a pair's copy), or None without any tier column."""
    sources = []
    if capabilities is not None and "classification" in capabilities.columns:
        sources.append(_tier_source(capabilities, "capabilities", "id", "classification"))
    if "capability_classification" in pairs.columns:
        sources.append(_tier_source(pairs, "pairs", "capability_id", "capability_classification"))
    if not sources:
        return None
    tiers = pd.concat(sources)
    return tiers[~tiers.index.duplicated()]


def _capability_table(pairs, capabilities, tracks):
    """One row per capability: ``capability_id``, ``capability_org``, ``track``, ``session``."""
    parts = []
    if capabilities is not None:
        check_frame(capabilities, "capabilities", ("id", "org", "domain"))
        parts.append(capabilities[["id", "org", "domain"]].set_axis(
            ["capability_id", "capability_org", "capability_domain"], axis=1))
    if "capability_domain" in pairs.columns:
        parts.append(pairs[["capability_id", "capability_org", "capability_domain"]])
    if not parts:
        raise InputError("pairs has no 'capability_domain' column; pass capabilities with "
                         "columns id, org, domain")
    table = pd.concat(parts, ignore_index=True)
    for column in ("capability_id", "capability_org"):
        table[column] = table[column].astype(str).str.strip()
    # The capabilities frame comes first, so its domain wins over a pair's copy.
    table = table.drop_duplicates("capability_id").copy()
    table["track"] = [value if value in tracks else normalise_domain(value)
                      for value in table["capability_domain"]]
    unknown = table[table["track"].isna() | ~table["track"].isin(tracks)]
    if len(unknown):
        shown = ", ".join(f"{cid}: {value!r}" for cid, value in
                          zip(unknown["capability_id"][:20], unknown["capability_domain"][:20]))
        raise InputError(f"unknown domain for capability {shown}; allowed: "
                         f"{', '.join(tracks)}")
    tiers = _tiers(pairs, capabilities)
    # Without any tier column every capability is 公开, as load_capabilities reads a file without 密级.
    table["session"] = OPEN_SESSION if tiers is None else table["capability_id"].map(tiers)
    untiered = table["capability_id"][table["session"].isna()]
    if len(untiered):
        raise InputError(f"no classification for capability {', '.join(untiered[:_MAX_LISTED])}; pass capabilities "
                         "with a 'classification' column (or pairs with 'capability_classification') "
                         "covering every capability")
    return table[["capability_id", "capability_org", "track", "session"]]


def _track_list(track_order):
    if track_order is None:
        return list(DOMAINS)
    order = [str(track) for track in track_order]
    return order + [d for d in DOMAINS if d not in order]


def _main_tracks(table, best, tracks):
    """Each institute's track per session: most capabilities, then highest total best score, then order."""
    counted = table.assign(score=table["capability_id"].map(best).fillna(0.0),
                           rank=table["track"].map({t: i for i, t in enumerate(tracks)}))
    summary = counted.groupby(["session", "capability_org", "track", "rank"], as_index=False).agg(
        n=("capability_id", "size"), score=("score", "sum"))
    summary = summary.sort_values(["session", "capability_org", "n", "score", "rank"],
                                  ascending=[True, True, False, False, True], kind="stable")
    return summary.drop_duplicates(["session", "capability_org"])[["session", "capability_org", "track"]]


def _invitations(pairs, invite_top):
    """Per session and institute: its top enterprises by their best pair score, and those scores."""
    best = pairs.groupby(["session", "capability_org", "need_org"], as_index=False)["score"].max()
    best = best.sort_values(["session", "capability_org", "score", "need_org"],
                            ascending=[True, True, False, True], kind="stable")
    top = best.groupby(["session", "capability_org"], sort=False).head(invite_top)
    return top.groupby(["session", "capability_org"], sort=False).agg(
        invited_orgs=("need_org", ";".join), invited_count=("need_org", "size"),
        expected_interest=("score", "sum"))


def plan_roadshow(pairs, capabilities=None, *, invite_top=5, track_order=None):
    """Plan the roadshow: an open programme and closed sessions per 密级, talks grouped by track.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Ranked pairs with ``need_org``, ``capability_id``, ``capability_org``, ``score`` and,
        unless ``capabilities`` is given, ``capability_domain``. Optional ``need_clearance``
        (the enterprise's qualification; empty or absent means 无) and
        ``capability_classification`` (the capability's 密级, used where ``capabilities`` has
        none). A pair leads to an invitation only when ``clearance_allows(need_clearance, tier)``.
    capabilities : pandas.DataFrame, optional
        Columns ``id``, ``org``, ``domain`` and optionally ``classification``; its domain and
        tier win over the pairs' copies, and institutes without pairs still get a talk. With no
        tier column anywhere, every capability is 公开.
    invite_top : int, default 5
        Enterprises invited per talk: those whose best pair with the institute's capabilities
        of the session scores highest.
    track_order : sequence of str, optional
        Tracks to run first, in this order; other tracks follow in ``DOMAINS`` order.

    Returns
    -------
    pandas.DataFrame
        One row per talk: ``session`` (the tier: 公开 is the open programme, 内部 / 秘密 / 机密
        closed sessions, in that order), ``track``, ``order`` (1-based within session and
        track), ``capability_org``, ``capability_ids`` (";"-joined, all of the session's tier,
        best first), ``invited_orgs`` (";"-joined, each allowed to see the tier),
        ``invited_count``, ``expected_interest`` (sum of the invited enterprises' best scores).

    Raises
    ------
    InputError
        Missing columns, non-numeric scores, unknown domains, tiers or qualifications, a
        capability with two tiers or none, or a bad ``invite_top``.

    Examples
    --------
    >>> programme = plan_roadshow(pairs, capabilities, invite_top=3)
    >>> programme.loc[0, ["session", "track", "order"]].tolist()
    ['公开', '电子信息', 1]
    """
    if not isinstance(invite_top, (int, np.integer)) or isinstance(invite_top, bool) \
            or invite_top < 0:
        raise InputError(f"invite_top must be an int >= 0; got {invite_top!r}")
    tracks = _track_list(track_order)
    frame = _clean_pairs(pairs)
    table = _capability_table(pairs, capabilities, tracks)
    frame["session"] = frame["capability_id"].map(table.set_index("capability_id")["session"])
    allowed = [clearance_allows(c, s) for c, s in zip(frame["need_clearance"], frame["session"])]
    frame = frame[np.asarray(allowed, dtype=bool)]
    best = frame.groupby("capability_id")["score"].max()
    talks = _main_tracks(table, best, tracks).reset_index(drop=True)
    ids = table.assign(score=table["capability_id"].map(best).fillna(-np.inf)).sort_values(
        ["score", "capability_id"], ascending=[False, True], kind="stable")
    talks = talks.join(ids.groupby(["session", "capability_org"], sort=False)["capability_id"].agg(";".join).rename(
        "capability_ids"), on=["session", "capability_org"])
    talks = talks.join(_invitations(frame, invite_top), on=["session", "capability_org"])
    talks = talks.fillna({"invited_orgs": "", "invited_count": 0, "expected_interest": 0.0})
    talks["invited_count"] = talks["invited_count"].astype(int)
    talks["session_rank"] = talks["session"].map(SESSIONS.index)
    talks["rank"] = talks["track"].map({t: i for i, t in enumerate(tracks)})
    talks = talks.sort_values(["session_rank", "rank", "expected_interest", "capability_org"],
                              ascending=[True, True, False, True], kind="stable")
    talks["order"] = talks.groupby(["session", "track"], sort=False).cumcount() + 1
    return talks[ROADSHOW_COLUMNS].reset_index(drop=True)
