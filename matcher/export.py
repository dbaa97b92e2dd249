"""Write DataFrames to CSV or XLSX safely and readably.

Safely: atomically and without spreadsheet formula injection. Readably: numbers rounded and, in
workbooks, the header row frozen and every column as wide as its content (CJK characters count double).
Every table matcher and the web app write goes through :func:`write_frame` or :func:`write_workbook`.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd

from .errors import InputError

#: A cell starting with one of these is read as a formula by Excel/WPS/LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = (".csv", ".xlsx")
#: Column widths in characters (a CJK character counts two): at least a short word, at most a readable line.
MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH = 6, 60
#: Rows looked at when fitting column widths; enough for the look, bounded for 100,000-row files.
WIDTH_SAMPLE_ROWS = 2000


def neutralise_formulas(frame):
    """Copy of ``frame`` where every text cell that a spreadsheet would run as a formula starts with '.

    Numbers are left alone (a negative score is a number, not a formula).

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok"]}))["a"].tolist()
    ["'=1+1", 'ok']
    """
    def fix(value):
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
            return "'" + value
        return value

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(fix)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


@contextlib.contextmanager
def atomic_path(path):
    """Give a temporary path next to ``path`` and move it onto ``path`` when the block succeeds.

    The file appears complete or not at all: a crash or exception inside the block removes
    the temporary file and leaves any existing ``path`` untouched.

    Parameters
    ----------
    path : str or os.PathLike
        The final file; its folder must exist.

    Yields
    ------
    str
        The temporary file to write (created empty, same folder and suffix as ``path``).

    Examples
    --------
    >>> with atomic_path("pairs.csv") as temporary:
    ...     frame.to_csv(temporary, index=False)
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; match open()
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def display_width(text):
    """Width of ``text`` in a spreadsheet column: East Asian wide and full-width characters count two.

    Multi-line text counts its longest line.

    Examples
    --------
    >>> display_width("SiC 外延")
    8
    """
    return max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
                for line in str(text).splitlines()), default=0)


def round_numbers(frame, decimals=3):
    """Copy of ``frame`` with every float (in float columns and in mixed columns) rounded to ``decimals``.

    Examples
    --------
    >>> round_numbers(pd.DataFrame({"score": [0.123456]}))["score"].tolist()
    [0.123]
    """
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(decimals)
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: round(v, decimals) if isinstance(v, float) else v)
    return out


def write_frame(frame, path, *, sheet_name="Sheet1", decimals=3):
    """Write ``frame`` to ``.csv`` (UTF-8 with BOM, so Excel shows Chinese) or ``.xlsx``.

    Floats are rounded to ``decimals``; a workbook also gets :func:`write_workbook`'s frozen header
    row and fitted column widths. The file appears complete or not at all: it is written to a
    temporary file in the same folder and renamed.

    Parameters
    ----------
    frame : pandas.DataFrame
        Written without its index; the column names are the header row.
    path : str or os.PathLike
        Ends in ``.csv`` or ``.xlsx``; missing folders are created.
    sheet_name : str, default "Sheet1"
        Worksheet name of an ``.xlsx``.
    decimals : int or None, default 3
        Decimals floats are rounded to; None keeps full precision.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        Unsupported file type.

    Examples
    --------
    >>> write_frame(pairs, "out/pairs.xlsx", sheet_name="配对")
    PosixPath('out/pairs.xlsx')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: output must end in {' or '.join(FORMATS)}; got {suffix or 'no extension'!r}")
    if suffix == ".xlsx":
        return write_workbook({sheet_name: frame}, path, decimals=decimals)
    safe = neutralise_formulas(frame if decimals is None else round_numbers(frame, decimals))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        safe.to_csv(temporary, index=False, encoding="utf-8-sig")
    return path


def write_workbook(sheets, path, *, decimals=3):
    """Write DataFrames as the sheets of one ``.xlsx``, formatted for reading and printing.

    Each sheet has its header row frozen, every column as wide as its widest cell (CJK characters
    count two; between 6 and 60 characters, fitted on the first 2,000 rows) and floats rounded to
    ``decimals`` and shown with that many decimals. Text that a spreadsheet would run as a formula
    is neutralised, and the file is written atomically.

    Parameters
    ----------
    sheets : mapping of str to pandas.DataFrame
        Sheet name → table, in sheet order; names must already be valid Excel sheet names.
    path : str or os.PathLike
        The ``.xlsx`` to write; missing folders are created.
    decimals : int or None, default 3
        Decimals floats are rounded to; None keeps full precision.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        ``path`` does not end in ``.xlsx``, or ``sheets`` is empty.

    Examples
    --------
    >>> write_workbook({"会面清单": meetings, "未安排": unscheduled}, "agenda.xlsx")
    PosixPath('agenda.xlsx')
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path.name}: a workbook must end in .xlsx; got {path.suffix or 'no extension'!r}")
    if not sheets:
        raise InputError(f"{path.name}: a workbook needs at least one sheet")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                safe = neutralise_formulas(frame if decimals is None else round_numbers(frame, decimals))
                safe.to_excel(writer, sheet_name=name, index=False)
                _format_sheet(writer.sheets[name], safe, decimals)
    return path


def _format_sheet(worksheet, frame, decimals):
    from openpyxl.utils import get_column_letter

    worksheet.freeze_panes = "A2"
    sample = frame.head(WIDTH_SAMPLE_ROWS)
    number_format = None if decimals is None else "0." + "0" * decimals if decimals else "0"
    for position, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(position)
        worksheet.column_dimensions[letter].width = _column_width(column, sample.iloc[:, position - 1])
        if number_format and pd.api.types.is_float_dtype(frame.iloc[:, position - 1]):
            for (cell,) in worksheet.iter_rows(min_row=2, min_col=position, max_col=position):
                cell.number_format = number_format


def _column_width(header, values):
    widest = display_width(header)
    # A cell of MAX_COLUMN_WIDTH characters is at least that wide: no need to measure the rest of it.
    for text in values[values.notna()].astype(str).str.slice(0, MAX_COLUMN_WIDTH).drop_duplicates():
        if widest >= MAX_COLUMN_WIDTH:
            break
        widest = max(widest, display_width(text))
    return min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, widest + 2))
