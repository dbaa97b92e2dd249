"""Roadshow (路演) programme: which institute talks in which track, in what order, to whom.

Institutes give one talk each, in the track (domain) where most of their capabilities lie.
Each talk invites the enterprises that rank the institute's capabilities highest, and talks
run in descending order of that expected interest within the track.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..taxonomy import DOMAINS, clearance_allows, normalise_domain
from .inputs import check_frame

__all__ = ["plan_roadshow"]

ROADSHOW_COLUMNS = ["track", "order", "capability_org", "capability_ids", "invited_orgs",
                    "invited_count", "expected_interest"]
_PAIR_COLUMNS = ("need_org", "capability_id", "capability_org", "score")


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
    if {"need_clearance", "capability_classification"} <= set(frame.columns):
        allowed = [clearance_allows(c, k) for c, k in zip(frame["need_clearance"],
                                                          frame["capability_classification"])]
        frame = frame[np.asarray(allowed, dtype=bool)]
    return frame


def _capability_table(pairs, capabilities, tracks):
    """One row per capability: ``capability_id``, ``capability_org``, ``track``."""
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
    return table[["capability_id", "capability_org", "track"]]


def _track_list(track_order):
    if track_order is None:
        return list(DOMAINS)
    order = [str(track) for track in track_order]
    return order + [d for d in DOMAINS if d not in order]


def _main_tracks(table, best, tracks):
    """Each institute's track: most capabilities, then highest total best score, then order."""
    counted = table.assign(score=table["capability_id"].map(best).fillna(0.0),
                           rank=table["track"].map({t: i for i, t in enumerate(tracks)}))
    summary = counted.groupby(["capability_org", "track", "rank"], as_index=False).agg(
        n=("capability_id", "size"), score=("score", "sum"))
    summary = summary.sort_values(["capability_org", "n", "score", "rank"],
                                  ascending=[True, False, False, True], kind="stable")
    return summary.drop_duplicates("capability_org").set_index("capability_org")["track"]


def _invitations(pairs, invite_top):
    """Per institute: its top enterprises by their best pair score, and those scores."""
    best = pairs.groupby(["capability_org", "need_org"], as_index=False)["score"].max()
    best = best.sort_values(["capability_org", "score", "need_org"],
                            ascending=[True, False, True], kind="stable")
    top = best.groupby("capability_org", sort=False).head(invite_top)
    return top.groupby("capability_org", sort=False).agg(
        invited_orgs=("need_org", ";".join), invited_count=("need_org", "size"),
        expected_interest=("score", "sum"))


def plan_roadshow(pairs, capabilities=None, *, invite_top=5, track_order=None):
    """Plan the roadshow: one talk per institute, grouped by track, best-attended first.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Ranked pairs with ``need_org``, ``capability_id``, ``capability_org``, ``score`` and,
        unless ``capabilities`` is given, ``capability_domain``. Pairs that break
        ``clearance_allows`` (when ``need_clearance`` and ``capability_classification`` are
        present) never lead to an invitation.
    capabilities : pandas.DataFrame, optional
        Columns ``id``, ``org``, ``domain``; used when pairs has no ``capability_domain``, and
        so institutes without pairs still get a talk.
    invite_top : int, default 5
        Enterprises invited per talk: those whose best pair with the institute scores highest.
    track_order : sequence of str, optional
        Tracks to run first, in this order; other tracks follow in ``DOMAINS`` order.

    Returns
    -------
    pandas.DataFrame
        One row per talk: ``track``, ``order`` (1-based within the track), ``capability_org``,
        ``capability_ids`` (";"-joined, best first), ``invited_orgs`` (";"-joined),
        ``invited_count``, ``expected_interest`` (sum of the invited enterprises' best scores).

    Raises
    ------
    InputError
        Missing columns, non-numeric scores, unknown domains or a bad ``invite_top``.

    Examples
    --------
    >>> programme = plan_roadshow(pairs, invite_top=3)
    >>> programme.loc[0, ["track", "order"]].tolist()
    ['电子信息', 1]
    """
    if not isinstance(invite_top, (int, np.integer)) or isinstance(invite_top, bool) \
            or invite_top < 0:
        raise InputError(f"invite_top must be an int >= 0; got {invite_top!r}")
    tracks = _track_list(track_order)
    frame = _clean_pairs(pairs)
    table = _capability_table(pairs, capabilities, tracks)
    best = frame.groupby("capability_id")["score"].max()
    main = _main_tracks(table, best, tracks)
    invited = _invitations(frame, invite_top)
    talks = pd.DataFrame({"capability_org": main.index, "track": main.to_numpy()})
    ids = table.assign(score=table["capability_id"].map(best).fillna(-np.inf)).sort_values(
        ["score", "capability_id"], ascending=[False, True], kind="stable")
    talks["capability_ids"] = talks["capability_org"].map(
        ids.groupby("capability_org", sort=False)["capability_id"].agg(";".join))
    talks = talks.join(invited, on="capability_org")
    talks = talks.fillna({"invited_orgs": "", "invited_count": 0, "expected_interest": 0.0})
    talks["invited_count"] = talks["invited_count"].astype(int)
    talks["rank"] = talks["track"].map({t: i for i, t in enumerate(tracks)})
    talks = talks.sort_values(["rank", "expected_interest", "capability_org"],
                              ascending=[True, False, True], kind="stable")
    talks["order"] = talks.groupby("track", sort=False).cumcount() + 1
    return talks[ROADSHOW_COLUMNS].reset_index(drop=True)
