"""Export a Schedule: an Excel workbook for organisers or CSV files for other tools.

Every text cell is neutralised against spreadsheet formula injection, and every file is
written to a temporary file in the target directory first and then moved into place, so a
crash never leaves half a workbook behind. Workbooks are formatted by
:func:`matcher.export.write_workbook` (frozen header, fitted widths, rounded scores); sheet names,
headers and the role and kind values come from ``labels``, so a caller can write them in its
own language.
"""
from __future__ import annotations

import pathlib
import re

import pandas as pd

from ..errors import InputError
from ..export import atomic_path, neutralise_formulas, round_numbers, write_workbook

__all__ = ["agenda_frames", "write_agenda"]

GRID_SHEET = "会面总表"
MEETINGS_SHEET = "会面清单"
UNSCHEDULED_SHEET = "未安排"
ROADSHOW_SHEET = "路演安排"
AGENDA_COLUMNS = ["org", "slot", "table", "role", "partner", "need_id", "capability_id", "score"]
#: What ``labels`` may rename, with the defaults: sheet names, the grid's table columns (``{n}`` is the
#: table number), the values of the agenda's ``role`` and the unscheduled list's ``kind``; any other key
#: is a column name (a column without a label keeps its name).
DEFAULT_LABELS = {
    "sheet.grid": GRID_SHEET, "sheet.meetings": MEETINGS_SHEET, "sheet.unscheduled": UNSCHEDULED_SHEET,
    "sheet.roadshow": ROADSHOW_SHEET, "table {n}": "table {n}", "role.need": "企业", "role.capability": "院所",
    "kind.pair": "pair", "kind.participant": "participant",
}
_SHEETS = {"grid": GRID_SHEET, "meetings": MEETINGS_SHEET, "unscheduled": UNSCHEDULED_SHEET,
           "roadshow": ROADSHOW_SHEET}
SUFFIXES = (".xlsx", ".csv")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _join_lists(frame):
    """Copy of ``frame`` with list and tuple cells joined by ';' (spreadsheets hold text)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(
                lambda v: ";".join("/".join(map(str, item)) if isinstance(item, (list, tuple)) else str(item)
                                   for item in v) if isinstance(v, (list, tuple)) else v)
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
    for org, partner, role in (("need_org", "capability_org", "need"),
                               ("capability_org", "need_org", "capability")):
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
    # An unscheduled pair has no ``org`` and a participant no ``need_org``: empty, not a name (a stored
    # plan holds "" there, which once became a sheet called "_").
    return sorted(name for name in map(str, names) if name.strip())


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
        ``org`` column: slot, table, role ("need" or "capability", the org's side), partner,
        need_id, capability_id, score),
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


def _labelled(frame, labels):
    """Copy of ``frame`` with role and kind values and then the column names as ``labels`` says."""
    out = _join_lists(frame)
    for column, prefix in (("role", "role."), ("kind", "kind.")):
        if column in out:
            values = {key[len(prefix):]: label for key, label in labels.items() if key.startswith(prefix)}
            out[column] = out[column].map(lambda v: values.get(v, v))
    table = labels["table {n}"]
    return out.rename(columns=lambda c: table.format(n=c[len("table "):]) if str(c).startswith("table ")
                      and str(c)[len("table "):].isdigit() else labels.get(c, c))


def _parts(frames, labels):
    """``[(part, sheet name, labelled frame)]`` for the shared sheets, in workbook order."""
    parts = []
    for part, key in _SHEETS.items():
        if key in frames:
            parts.append((part, labels[f"sheet.{part}"], _labelled(frames[key], labels)))
    return parts


def _write_workbook(frames, schedule, path, labels):
    shared = {part: (name, frame) for part, name, frame in _parts(frames, labels)}
    used = {name.casefold() for name, _frame in shared.values()}
    sheets = dict([shared["grid"], shared["meetings"]])
    agendas = _labelled(frames["agendas"], labels)
    org = labels.get("org", "org")
    by_org = dict(tuple(agendas.groupby(org, sort=False)))
    for name in _organisations(schedule):
        own = by_org.get(name, agendas.iloc[:0]).drop(columns=org)
        sheets[_sheet_name(name, used)] = own
    sheets.update([shared["unscheduled"]] + ([shared["roadshow"]] if "roadshow" in shared else []))
    return [write_workbook(sheets, path)]


def _write_csvs(frames, path, labels):
    parts = {part: frame for part, _name, frame in _parts(frames, labels)}
    parts = {"meetings": parts["meetings"], "grid": parts["grid"], "unscheduled": parts["unscheduled"],
             "agendas": _labelled(frames["agendas"], labels),
             **({"roadshow": parts["roadshow"]} if "roadshow" in parts else {})}
    written = []
    for part, frame in parts.items():
        target = path.with_name(f"{path.stem}_{part}.csv")
        with atomic_path(target) as temporary:
            neutralise_formulas(round_numbers(frame)).to_csv(temporary, index=False, encoding="utf-8-sig")
        written.append(target)
    return written


def write_agenda(schedule, path, *, roadshow=None, labels=None):
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
    labels : mapping of str to str, optional
        Headers and names in the reader's language, over :data:`DEFAULT_LABELS`: ``"sheet.grid"``,
        ``"sheet.meetings"``, ``"sheet.unscheduled"``, ``"sheet.roadshow"`` (sheet names), ``"table {n}"``
        (the grid's table columns), ``"role.need"``, ``"role.capability"``, ``"kind.pair"``,
        ``"kind.participant"`` (values), and any column name (``"slot"``, ``"partner"``, …) for its
        header. Without it, sheets have the Chinese names above and columns their English names.
        Scores are rounded to 3 decimals.

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
    >>> write_agenda(plan, "agenda.xlsx", labels={"slot": "时段", "partner": "对方单位"})
    [PosixPath('agenda.xlsx')]
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"agenda path {str(path)!r} must end in {' or '.join(SUFFIXES)}; "
                         f"got {path.suffix or 'no suffix'!r}")
    if not path.parent.is_dir():
        raise InputError(f"agenda directory {str(path.parent)!r} does not exist")
    labels = {**DEFAULT_LABELS, **(labels or {})}
    frames = agenda_frames(schedule, roadshow=roadshow)
    if suffix == ".xlsx":
        return _write_workbook(frames, schedule, path, labels)
    return _write_csvs(frames, path, labels)
