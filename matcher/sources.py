"""Read tabular sources (CSV in any common Chinese encoding, XLSX, JSON) into raw string tables.

This module knows nothing about needs or capabilities: it turns a file into a
DataFrame of strings plus the spreadsheet row number of every row, so that
validation messages can point at the row a spreadsheet user sees.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputError
from .xlsx import read_xlsx_grid

#: How many leading rows may hold a title above the header row.
HEADER_SEARCH_ROWS = 10


@dataclass
class RawTable:
    """A table of strings as read from a source.

    ``frame`` has the source's own header names; ``rows`` gives, for each frame
    row, the number a spreadsheet user sees (1-based, header counted).
    """

    frame: pd.DataFrame
    rows: list
    name: str
    row_label: str = "row"


def decode_text(data: bytes, name: str) -> str:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.

    Raises
    ------
    InputError
        When the bytes are none of these, naming the line and byte.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(data, ("utf-16",), name)
    # Chinese Excel saves "CSV" in the ANSI code page, GBK; GB18030 is its superset.
    return _decode(data, ("utf-8", "gb18030"), name)


def _decode(data, encodings, name):
    failures = []
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            failures.append(exc)
    # The encoding that read furthest is the one the file was meant to be in.
    worst = max(failures, key=lambda exc: exc.start)
    line = data[: worst.start].count(b"\n") + 1
    raise InputError(
        f"{name}: line {line}: cannot read the file as text (byte 0x{data[worst.start]:02x} at offset "
        f"{worst.start} is not valid {' or '.join(e.upper() for e in encodings)}); save it as 'CSV UTF-8' "
        f"or as .xlsx and try again"
    )


def read_table(src, *, aliases, sheet=0) -> RawTable:
    """Read ``src`` (path, file-like with ``.name``, or DataFrame) into a :class:`RawTable`.

    Parameters
    ----------
    src : str, pathlib.Path or pandas.DataFrame
        A ``.csv``/``.tsv``/``.txt``, ``.xlsx`` or ``.json`` file, or a DataFrame.
    aliases : dict
        Known header names (normalised with :func:`header_key`), used to find the
        header row below any title rows.
    sheet : int or str, default 0
        Worksheet of an XLSX file.

    Returns
    -------
    RawTable
    """
    if isinstance(src, pd.DataFrame):
        frame = src.copy()
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.astype(object).where(frame.notna(), "")
        return RawTable(frame.map(_cell), [i + 2 for i in range(len(frame))], "<DataFrame>")
    path = Path(src)
    name = path.name
    if not path.is_file():
        raise InputError(f"{src}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        grid = [[_cell(v) for v in row] for row in read_xlsx_grid(path, sheet)]
    elif suffix == ".json":
        return _read_json(path)
    elif suffix in (".csv", ".tsv", ".txt", ""):
        grid = _read_csv(path.read_bytes(), name)
    elif suffix == ".xls":
        raise InputError(f"{name}: the old .xls format is not supported; save it as .xlsx or CSV UTF-8")
    else:
        raise InputError(f"{name}: unsupported file type '{suffix}'; use .csv, .xlsx or .json")
    return _from_grid(grid, name, aliases)


def read_frame(path, *, name="file", suffixes=(".csv", ".xlsx")):
    """Read a CSV (UTF-8, UTF-8 with BOM, UTF-16 or GB18030) or XLSX table with every cell as text.

    Decoding and parsing are :func:`read_table`'s; this restricts the suffixes, names the table
    in the errors it raises itself and returns a plain DataFrame without row numbers.

    Parameters
    ----------
    path : str or os.PathLike
    name : str, default "file"
        What the table is, for error messages ("pairs", "availability", ...).
    suffixes : tuple of str, default (".csv", ".xlsx")
        File types accepted.

    Returns
    -------
    pandas.DataFrame
        Cells as strings (``str`` dtype, stripped); empty cells are NaN. Ids keep leading zeros.

    Raises
    ------
    InputError
        The file is missing, has another suffix, or cannot be decoded or parsed.

    Examples
    --------
    >>> pairs = read_frame("pairs.csv", name="pairs")
    >>> pairs.columns[:2].tolist()
    ['need_id', 'capability_id']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{name} file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise InputError(f"{name} file {str(path)!r} must be {' or '.join(suffixes)}; "
                         f"got {path.suffix or 'no suffix'!r}")
    frame = read_table(path, aliases={}).frame
    return frame.mask(frame.eq("")).astype(str)


def header_key(name) -> str:
    """Normalise a header cell for alias lookup: no spaces, marks or case."""
    text = str(name).strip().lower().replace("\ufeff", "")
    for mark in (" ", "\u3000", "*", "＊", "(必填)", "（必填）", "(选填)", "（选填）", ":", "："):
        text = text.replace(mark, "")
    return text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _read_csv(data: bytes, name: str):
    text = decode_text(data, name)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise InputError(f"{name}: malformed CSV ({exc})") from None


def _read_json(path: Path) -> RawTable:
    try:
        payload = json.loads(decode_text(path.read_bytes(), path.name))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path.name}: the JSON is nested too deeply; expected a list of records") from None
    if isinstance(payload, dict):
        lists = [value for value in payload.values() if isinstance(value, list)]
        if len(lists) != 1:
            raise InputError(f"{path.name}: expected a list of records or an object holding one list")
        payload = lists[0]
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise InputError(f"{path.name}: expected a list of objects, one per record")
    frame = pd.DataFrame.from_records(payload)
    frame = frame.astype(object).where(frame.notna(), "").map(_cell)
    return RawTable(frame, [i + 1 for i in range(len(frame))], path.name, row_label="record")


def _from_grid(grid, name, aliases) -> RawTable:
    header_at = _find_header(grid, aliases)
    if header_at is None:
        raise InputError(f"{name}: the file is empty or has no header row")
    header = [str(h).strip() for h in grid[header_at]]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    rows, numbers = [], []
    for offset, row in enumerate(grid[header_at + 1:]):
        cells = [_cell(v) for v in row[:width]] + [""] * max(0, width - len(row))
        if any(cells):
            rows.append(cells)
            numbers.append(header_at + offset + 2)
    blank = [i for i, h in enumerate(header) if not h]
    for i in blank:
        header[i] = f"column {i + 1}"
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header, dtype=object)
    return RawTable(frame, numbers, name)


def _find_header(grid, aliases):
    best, best_hits = None, 0
    for index, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        hits = sum(1 for cell in row if header_key(cell) in aliases)
        if hits > best_hits:
            best, best_hits = index, hits
    if best is None:
        return next((i for i, row in enumerate(grid) if any(_cell(c) for c in row)), None)
    return best
