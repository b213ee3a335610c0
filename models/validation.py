"""The checks that find what is wrong in a dataset's tables (read by
:mod:`models.table_files`).

Every check appends to a list of :class:`Problem` instead of raising, so one load reports
everything a user has to fix; :func:`models.data.load_dataset` raises a single
:class:`DataError` at the end. Soft findings go to a list of warning strings the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import InputError

MAX_LISTED = 50
LARGEST = 1e15  # amounts and values beyond this are typos or overflows, in any sane unit
MAX_WARNED = 20
TRANSFORMS = ("log", "identity")
_MAX_TEXT = 40


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset.

    Attributes
    ----------
    file : file name, e.g. ``"formulations.csv"`` (the folder path for folder-level problems).
    line : 1-based line as a text editor shows it: the line a CSV record starts on, counting
        blank lines and the lines inside quoted multi-line cells; for Parquet the row number + 2
        (as if there were a header line). ``None`` for file-level problems.
    message : what is wrong, naming the offending text.
    """

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}, line {self.line}: {self.message}"


class DataError(InputError):
    """Raised with every problem found in a dataset folder (not just the first).

    ``str(err)`` names the folder on its first line and lists the problems one per line, the
    first :data:`MAX_LISTED` of them followed by ``... and N more``; ``err.problems`` holds all.
    """

    def __init__(self, root: str | Path, problems: Iterable[Problem]) -> None:
        self.root = Path(root)
        self.problems: list[Problem] = list(problems)
        super().__init__(self._text())

    def __reduce__(self):  # the constructor takes (root, problems), not the message
        return (type(self), (self.root, self.problems))

    def _text(self) -> str:
        n = len(self.problems)
        noun = "problem" if n == 1 else "problems"
        lines = [f"{n} {noun} in dataset {self.root}:"]
        lines += [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if n > MAX_LISTED:
            lines.append(f"  ... and {n - MAX_LISTED} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._text()


@dataclass(frozen=True, eq=False)
class Table:
    """A table as read from disk, before any checks.

    Attributes
    ----------
    file : file name, used in every problem about this table.
    frame : the raw cells; all ``str`` for CSV, native types for Parquet.
    lines : (n_rows,) int64, the line each row is reported under.
    header_line : the line of the header row for CSV (1 unless blank lines precede it),
        ``None`` for Parquet.
    """

    file: str
    frame: pd.DataFrame
    lines: np.ndarray
    header_line: int | None

    def __len__(self) -> int:
        return len(self.frame)


def quote(text: object) -> str:
    """Quote a user-supplied cell for a message, shortening very long text."""
    s = str(text)
    if len(s) > _MAX_TEXT:
        s = s[: _MAX_TEXT - 3] + "..."
    return f"'{s}'"


def require_columns(table: Table, required: Iterable[str], problems: list[Problem]) -> bool:
    """Check that ``table`` has every required column; return whether it does."""
    missing = [c for c in required if c not in table.frame.columns]
    if not missing:
        return True
    found = ", ".join(quote(c) for c in table.frame.columns) or "none"
    noun = "column" if len(missing) == 1 else "columns"
    problems.append(
        Problem(
            table.file,
            table.header_line,
            f"missing required {noun} {', '.join(quote(c) for c in missing)}; found: {found}",
        )
    )
    return False


def text_cells(
    table: Table, column: str, problems: list[Problem], *, allow_empty: bool = False
) -> pd.Series:
    """Return a column as stripped ``str`` (missing cells as ``""``), reporting empty cells.

    Numeric Parquet columns (integer ids) are turned into their decimal text.
    """
    text = _as_text(table.frame[column])
    if not allow_empty:
        _report(table, text == "", problems, lambda _: f"{column} is empty")
    return text


def number_cells(
    table: Table,
    column: str,
    problems: list[Problem],
    *,
    nonnegative: bool = False,
    allow_empty: bool = False,
    largest: float | None = LARGEST,
) -> pd.Series:
    """Return a column as float64, reporting empty, non-numeric, NaN, infinite, larger in
    magnitude than ``largest`` (so sums and scaling stay finite) and (if ``nonnegative``)
    negative cells.

    Every bad (or allowed empty) cell is NaN in the result, so callers can keep only
    ``result.notna()`` rows.
    """
    raw = table.frame[column]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.astype("float64")
        text = values  # only read for the messages of bad cells
        empty = values.isna()
        nan_text = pd.Series(False, index=values.index)
    else:
        text = _as_text(raw)
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        empty = text == ""
        nan_text = text.str.lower().isin(["nan", "+nan", "-nan"])
    not_number = values.isna() & ~empty & ~nan_text
    infinite = np.isinf(values)
    negative = (values < 0) & ~infinite if nonnegative else pd.Series(False, index=values.index)
    huge = (values.abs() > largest) & ~infinite if largest is not None else (
        pd.Series(False, index=values.index))

    if not allow_empty:
        _report(table, empty, problems, lambda _: f"{column} is empty")
    _report(table, nan_text, problems, lambda i: f"{column} {quote(text[i])} is NaN")
    _report(table, not_number, problems, lambda i: f"{column} {quote(text[i])} is not a number")
    _report(table, infinite, problems, lambda i: f"{column} {quote(text[i])} is infinite")
    _report(table, negative, problems, lambda i: f"{column} {quote(text[i])} is negative")
    _report(table, huge, problems, lambda i: f"{column} {quote(text[i])} is too large (beyond "
                                             f"{largest:g}); check the unit or a typo")
    return values.where(~(infinite | negative | huge))


def _as_text(raw: pd.Series) -> pd.Series:
    """Cells as stripped ``str``, missing as ``""``; float ids from Parquet without ``.0``."""
    if pd.api.types.is_float_dtype(raw.dtype):
        return raw.map(_float_text).astype(str)
    if isinstance(raw.dtype, pd.StringDtype):  # vectorised, and no copy through objects
        return raw.fillna("").str.strip()
    return raw.astype(object).where(raw.notna(), "").astype(str).str.strip()


def _float_text(v: float) -> str:
    if pd.isna(v):
        return ""
    return f"{v:.0f}" if float(v).is_integer() else repr(float(v))


def _report(
    table: Table, mask: pd.Series, problems: list[Problem], message: Callable[[int], str]
) -> None:
    """Append one problem per row where ``mask`` holds; ``message(i)`` words it for row i."""
    for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
        problems.append(Problem(table.file, int(table.lines[i]), message(i)))


def capped(messages: list[str], what: str) -> list[str]:
    """The first :data:`MAX_WARNED` messages, then one line counting the rest."""
    if len(messages) <= MAX_WARNED:
        return messages
    return [*messages[:MAX_WARNED], f"... and {len(messages) - MAX_WARNED} more {what}"]


def read_truth(root: Path, problems: list[Problem]) -> dict | None:
    """Parse ``truth.json`` if present; it must hold a JSON object."""
    path = root / "truth.json"
    if not path.exists():
        return None
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        problems.append(
            Problem(path.name, err.lineno, f"is not valid JSON: {err.msg} (column {err.colno})")
        )
        return None
    except UnicodeDecodeError as err:
        problems.append(Problem(path.name, None, f"is not valid JSON: not UTF-8 text (byte "
                                                 f"{err.start + 1})"))
        return None
    except OSError as err:
        problems.append(Problem(path.name, None, f"cannot be read ({err.strerror})"))
        return None
    if not isinstance(truth, dict):
        problems.append(
            Problem(path.name, None, f"must hold a JSON object, not {type(truth).__name__}")
        )
        return None
    return truth
