"""Write DataFrames to CSV or XLSX safely: atomically and without spreadsheet formula injection."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd

from .errors import InputError

#: A cell starting with one of these is read as a formula by Excel/WPS/LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = (".csv", ".xlsx")


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


def write_frame(frame, path, *, sheet_name="Sheet1"):
    """Write ``frame`` to ``.csv`` (UTF-8 with BOM, so Excel shows Chinese) or ``.xlsx``.

    The file appears complete or not at all: it is written to a temporary file
    in the same folder and renamed.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        Unsupported file type.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: output must end in {' or '.join(FORMATS)}; got {suffix or 'no extension'!r}")
    safe = neutralise_formulas(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        if suffix == ".csv":
            safe.to_csv(temporary, index=False, encoding="utf-8-sig")
        else:
            with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
                safe.to_excel(writer, sheet_name=sheet_name, index=False)
    return path
