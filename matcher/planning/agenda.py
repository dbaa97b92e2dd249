"""Export a Schedule: an Excel workbook for organisers or CSV files for other tools.

Every text cell is neutralised against spreadsheet formula injection, and every file is
written to a temporary file in the target directory first and then moved into place, so a
crash never leaves half a workbook behind.
"""
from __future__ import annotations

import pathlib
import re

import pandas as pd

from ..errors import InputError
from ..export import atomic_path, neutralise_formulas

__all__ = ["agenda_frames", "write_agenda"]

GRID_SHEET = "会面总表"
MEETINGS_SHEET = "会面清单"
UNSCHEDULED_SHEET = "未安排"
ROADSHOW_SHEET = "路演安排"
AGENDA_COLUMNS = ["org", "slot", "table", "role", "partner", "need_id", "capability_id", "score"]
SUFFIXES = (".xlsx", ".csv")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _join_lists(frame):
    """Copy of ``frame`` with list and tuple cells joined by ';' (spreadsheets hold text)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(
                lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    return out


def _grid(schedule):
    grid = pd.DataFrame("", index=pd.RangeIndex(1, schedule.slots + 1, name="slot"),
                        columns=[f"table {t}" for t in range(1, schedule.tables + 1)])
    for row in schedule.meetings.itertuples():
        grid.at[row.slot, f"table {row.table}"] = f"{row.need_org} ↔ {row.capability_org}"
    return grid.reset_index()


def _agendas(schedule):
    m = schedule.meetings
    sides = []
    for org, partner, role in (("need_org", "capability_org", "企业"),
                               ("capability_org", "need_org", "院所")):
        sides.append(pd.DataFrame({"org": m[org], "slot": m["slot"], "table": m["table"],
                                   "role": role, "partner": m[partner], "need_id": m["need_id"],
                                   "capability_id": m["capability_id"], "score": m["score"]}))
    long = pd.concat(sides, ignore_index=True)
    return long.sort_values(["org", "slot"], kind="stable").reset_index(drop=True)[AGENDA_COLUMNS]


def _organisations(schedule):
    names = set(schedule.meetings["need_org"]) | set(schedule.meetings["capability_org"])
    for column in ("need_org", "capability_org", "org"):
        if column in schedule.unscheduled:
            names |= set(schedule.unscheduled[column].dropna())
    return sorted(map(str, names))


def agenda_frames(schedule, *, roadshow=None):
    """The tables an agenda export contains, keyed by sheet name (before neutralising).

    Parameters
    ----------
    schedule : Schedule
        From ``schedule_meetings`` or ``greedy_schedule``.
    roadshow : pandas.DataFrame, optional
        From ``plan_roadshow``.

    Returns
    -------
    dict of str to pandas.DataFrame
        "会面总表" (slot x table grid), "会面清单" (meetings), "agendas" (long table with an
        ``org`` column: slot, table, role, partner, need_id, capability_id, score),
        "未安排" (unscheduled with reasons) and, with a roadshow, "路演安排".

    Examples
    --------
    >>> frames = agenda_frames(plan)
    >>> sorted(frames)[:2]
    ['agendas', '会面总表']
    """
    frames = {GRID_SHEET: _grid(schedule), MEETINGS_SHEET: schedule.meetings,
              "agendas": _agendas(schedule), UNSCHEDULED_SHEET: schedule.unscheduled}
    if roadshow is not None:
        frames[ROADSHOW_SHEET] = roadshow
    return frames


def _sheet_name(name, used):
    clean = _SHEET_FORBIDDEN.sub("_", name).strip("'") or "_"
    candidate, k = clean[:31], 2
    while candidate.casefold() in used:
        suffix = f"~{k}"
        candidate, k = clean[:31 - len(suffix)] + suffix, k + 1
    used.add(candidate.casefold())
    return candidate


def _write_workbook(frames, schedule, path):
    agendas = frames.pop("agendas")
    used = {name.casefold() for name in (GRID_SHEET, MEETINGS_SHEET, UNSCHEDULED_SHEET,
                                         ROADSHOW_SHEET)}
    sheets = [(GRID_SHEET, frames[GRID_SHEET]), (MEETINGS_SHEET, frames[MEETINGS_SHEET])]
    by_org = dict(tuple(agendas.groupby("org", sort=False)))
    for org in _organisations(schedule):
        own = by_org.get(org, agendas.iloc[:0]).drop(columns="org")
        sheets.append((_sheet_name(org, used), own))
    sheets.append((UNSCHEDULED_SHEET, frames[UNSCHEDULED_SHEET]))
    if ROADSHOW_SHEET in frames:
        sheets.append((ROADSHOW_SHEET, frames[ROADSHOW_SHEET]))
    with atomic_path(path) as temporary, pd.ExcelWriter(temporary, engine="openpyxl") as writer:
        for name, frame in sheets:
            neutralise_formulas(_join_lists(frame)).to_excel(writer, sheet_name=name, index=False)
    return [path]


def _write_csvs(frames, path):
    names = {"meetings": MEETINGS_SHEET, "grid": GRID_SHEET, "unscheduled": UNSCHEDULED_SHEET,
             "agendas": "agendas", "roadshow": ROADSHOW_SHEET}
    written = []
    for part, key in names.items():
        if key not in frames:
            continue
        target = path.with_name(f"{path.stem}_{part}.csv")
        frame = neutralise_formulas(_join_lists(frames[key]))
        with atomic_path(target) as temporary:
            frame.to_csv(temporary, index=False, encoding="utf-8-sig")
        written.append(target)
    return written


def write_agenda(schedule, path, *, roadshow=None):
    """Write the schedule as an Excel workbook or as CSV files.

    Parameters
    ----------
    schedule : Schedule
        From ``schedule_meetings`` or ``greedy_schedule``.
    path : str or os.PathLike
        ``*.xlsx``: one workbook with sheets "会面总表" (slot x table grid, cells
        "企业 ↔ 院所"), "会面清单" (meetings), one agenda sheet per organisation (name cut to
        31 characters, ``[]:*?/\\`` replaced, made unique), "未安排" and, with a roadshow,
        "路演安排". ``*.csv``: ``<stem>_meetings.csv``, ``<stem>_grid.csv``,
        ``<stem>_unscheduled.csv``, ``<stem>_agendas.csv`` (long, with an ``org`` column) and
        ``<stem>_roadshow.csv`` next to ``path`` (UTF-8 with BOM, for Excel).
    roadshow : pandas.DataFrame, optional
        From ``plan_roadshow``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    InputError
        The suffix is not .xlsx or .csv, or the directory does not exist.

    Examples
    --------
    >>> write_agenda(plan, "agenda.xlsx")
    [PosixPath('agenda.xlsx')]
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"agenda path {str(path)!r} must end in {' or '.join(SUFFIXES)}; "
                         f"got {path.suffix or 'no suffix'!r}")
    if not path.parent.is_dir():
        raise InputError(f"agenda directory {str(path.parent)!r} does not exist")
    frames = agenda_frames(schedule, roadshow=roadshow)
    if suffix == ".xlsx":
        return _write_workbook(frames, schedule, path)
    return _write_csvs(frames, path)
