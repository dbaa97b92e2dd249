"""Read one worksheet of an XLSX workbook into a grid of values, bounded by what is really in it.

A workbook can declare a dimension of a million rows and sixteen thousand columns while holding
one cell; a reader that trusts the declaration (openpyxl's read-only mode does) builds a billion
empty cells. Before anything is read, the worksheet's XML is streamed once to find the cells that
actually hold a value, and a sheet whose real content lies beyond the limits is refused with the
row and cell, quickly and in bounded memory. Only then does openpyxl read the cells, within the
extent found.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from .errors import InputError

#: Uncompressed XLSX bigger than this is refused (zip-bomb guard).
MAX_UNCOMPRESSED = 200 * 1024 * 1024
#: Rows (counting title and header rows) and columns read from a sheet; content beyond is refused.
MAX_ROWS = 100_000
MAX_COLUMNS = 200
#: Cells holding a value, in all; and cell elements of any kind (formatted but empty ones too).
MAX_CELLS = 2_000_000
MAX_CELL_ELEMENTS = 5_000_000
_REFERENCE = re.compile(r"([A-Za-z]{1,3})(\d+)$")
_WORKSHEET = "/worksheet"


@dataclass(frozen=True)
class Extent:
    """Where a worksheet's values really are: the last row and column holding one, and how many there are."""

    rows: int
    columns: int
    cells: int


def read_xlsx_grid(path: Path, sheet=0):
    """The values of one worksheet as a list of rows (lists), bounded by its real content.

    Parameters
    ----------
    path : pathlib.Path
    sheet : int or str, default 0
        Position among the worksheets, or the sheet's name.

    Returns
    -------
    list of list
        Cell values as openpyxl gives them (str, int, float, datetime, bool or None).

    Raises
    ------
    InputError
        Not a workbook, unpacks too big, no such sheet, or values beyond :data:`MAX_ROWS`,
        :data:`MAX_COLUMNS` or :data:`MAX_CELLS`, naming the file, sheet and cell.

    Examples
    --------
    >>> grid = read_xlsx_grid(Path("needs.xlsx"))
    >>> grid[0][:2]
    ['编号', '单位名称']
    """
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
            if size > MAX_UNCOMPRESSED:
                raise InputError(f"{path.name}: the workbook unpacks to {size // 2**20} MiB, more than the "
                                 f"{MAX_UNCOMPRESSED // 2**20} MiB allowed; split it into smaller files")
            title, part = _sheet_part(archive, sheet, path.name)
            extent = _extent(archive, part, path.name, title)
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: not a valid .xlsx workbook (is it a renamed CSV or .xls?)") from None
    except ElementTree.ParseError as exc:
        raise InputError(f"{path.name}: cannot open the workbook (broken XML: {exc})") from None
    if extent.rows == 0:
        return []
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for corrupt files
        raise InputError(f"{path.name}: cannot open the workbook ({type(exc).__name__}: {exc})") from None
    try:
        worksheet = book[title]
        worksheet.reset_dimensions()  # never trust the declared <dimension>; read the extent found above
        return [list(row) for row in worksheet.iter_rows(min_row=1, max_row=extent.rows, min_col=1,
                                                         max_col=extent.columns, values_only=True)]
    finally:
        book.close()


def _sheet_part(archive, sheet, name):
    """``(title, zip member)`` of the worksheet at position ``sheet`` (worksheets only) or named ``sheet``."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        raise InputError(f"{name}: not a valid .xlsx workbook (no xl/workbook.xml; another format renamed?)") from None
    targets = {r.get("Id"): (r.get("Target", ""), r.get("Type", ""))
               for r in relations if _local(r.tag) == "Relationship"}
    sheets = []
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        target, kind = targets.get(rel, ("", ""))
        if kind.endswith(_WORKSHEET) and target:
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            sheets.append((element.get("name", ""), member))
    try:
        return sheets[sheet] if isinstance(sheet, int) else next(s for s in sheets if s[0] == sheet)
    except (IndexError, StopIteration):
        raise InputError(f"{name}: no worksheet {sheet!r}; sheets are {[s[0] for s in sheets]}") from None


def _extent(archive, part, name, title):
    """Stream the worksheet XML once; stop as soon as a limit is passed."""
    last_row = last_column = cells = elements = row = column = 0
    with archive.open(part) as handle:
        for event, element in ElementTree.iterparse(handle, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "row":
                    row = int(element.get("r") or row + 1)
                    column = 0
                continue
            if tag == "c":
                elements += 1
                if elements > MAX_CELL_ELEMENTS:
                    raise InputError(f"{name}: sheet '{title}' has more than {MAX_CELL_ELEMENTS:,} cells (most of "
                                     f"them empty); copy the data into a new workbook")
                reference = _REFERENCE.match(element.get("r") or "")
                if reference:
                    column, row = _column_number(reference.group(1)), int(reference.group(2))
                else:
                    column += 1
                if any(_local(child.tag) in ("v", "is") for child in element):
                    cells += 1
                    last_row, last_column = max(last_row, row), max(last_column, column)
                    _check_limits(name, title, row, column, cells)
                element.clear()
            elif tag == "row":
                element.clear()
    return Extent(last_row, last_column, cells)


def _check_limits(name, title, row, column, cells):
    cell = f"{_column_letters(column)}{row}"
    if row > MAX_ROWS:
        raise InputError(f"{name}: sheet '{title}' has a value in cell {cell}, row {row:,}; at most {MAX_ROWS:,} rows "
                         f"are read. Delete the stray cells below your data or split the file")
    if column > MAX_COLUMNS:
        raise InputError(f"{name}: sheet '{title}' has a value in cell {cell}, column {column:,}; at most "
                         f"{MAX_COLUMNS} columns are read. Delete the stray cells right of your data")
    if cells > MAX_CELLS:
        raise InputError(f"{name}: sheet '{title}' holds more than {MAX_CELLS:,} filled cells; split the file")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _column_number(letters):
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _column_letters(number):
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
