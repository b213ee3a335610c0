"""Reading a dataset's tables and the checks that find what is wrong in them.

Every check appends to a list of :class:`Problem` instead of raising, so one load reports
everything a user has to fix; :func:`models.data.load_dataset` raises a single
:class:`DataError` at the end. Soft findings go to a list of warning strings the same way.
"""

from __future__ import annotations

import csv
import io
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
CSV_CHUNK_LINES = 250_000


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


# ----------------------------------------------------------------------------- reading


def read_table(root: Path, name: str, problems: list[Problem]) -> Table | None:
    """Read ``NAME.csv`` or ``NAME.parquet`` from ``root``; ``None`` if absent or unreadable."""
    csv, parquet = root / f"{name}.csv", root / f"{name}.parquet"
    if csv.exists() and parquet.exists():
        problems.append(
            Problem(csv.name, None, f"both {csv.name} and {parquet.name} exist; keep only one")
        )
        return None
    if csv.exists():
        return read_csv_table(csv, problems)
    if parquet.exists():
        return _read_parquet(parquet, problems)
    return None


def read_csv_table(path: Path, problems: list[Problem]) -> Table | None:
    """Parse a CSV file, keeping for every record the line an editor shows it on (quoted
    fields may span lines; blank lines count). Undecodable bytes, NUL bytes and records with
    more fields than the header are problems naming their line."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        problems.append(Problem(path.name, None, f"cannot be read ({err.strerror})"))
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(path.name, 1, "is UTF-16 text; save it as UTF-8 (CSV UTF-8 in "
                                              "Excel)"))
        return None
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        problems.append(Problem(path.name, raw[:at].count(b"\n") + 1,
                                f"cannot be read as CSV: a NUL byte at byte {at + 1} of the file "
                                "(a binary file, or UTF-16 text? save it as UTF-8)"))
        return None
    undecodable = _not_utf8(raw, path.name)
    if undecodable is not None:
        problems.append(undecodable)
        return None
    plain = _read_plain_csv(raw, path.name)
    if plain is not None:
        return plain
    return _read_csv_records(raw.decode("utf-8-sig"), path, problems)


def _not_utf8(raw: bytes, file: str) -> Problem | None:
    """The problem with ``raw`` if it is not UTF-8 text (the decoded text is not kept)."""
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        return Problem(file, line, f"is not UTF-8 text: byte 0x{raw[err.start]:02x} at byte "
                                   f"{err.start + 1} of the file; save it as UTF-8 (CSV UTF-8 "
                                   "in Excel)")
    return None


def _read_csv_records(text: str, path: Path, problems: list[Problem]) -> Table | None:
    """:func:`read_csv_table` for any CSV text, one record at a time with Python's csv module
    (which knows where quoted multi-line cells end)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[list[str]] = []
    starts: list[int] = []
    end = 0  # physical lines consumed so far
    try:
        for record in reader:
            starts.append(end + 1)
            end = reader.line_num
            records.append(record)
    except csv.Error as err:
        problems.append(Problem(path.name, end + 1, f"cannot be read as CSV: {err}"))
        return None
    while records and not any(cell.strip() for cell in records[0]):  # blank lines above
        records.pop(0)
        starts.pop(0)
    if not records:
        problems.append(Problem(path.name, None, "file is empty (no header row)"))
        return None
    header, header_line = records[0], starts[0]
    width = len(header)
    rows, lines = [], []
    for record, line in zip(records[1:], starts[1:], strict=True):
        if not any(cell.strip() for cell in record):
            continue  # blank line (or only separators)
        if len(record) > width:
            hint = (" (an unquoted decimal comma, like 1,5? write 1.5 or quote the cell)"
                    if len(record) == width + 1 else "")
            problems.append(Problem(path.name, line, f"cannot be read as CSV: the line has "
                                                     f"{len(record)} fields but the header has "
                                                     f"{width}{hint}"))
            record = record[:width]  # kept, so its id raises no second, false problem
        rows.append(record + [""] * (width - len(record)))
        lines.append(line)
    frame = pd.DataFrame(rows, columns=_unique_names(header), dtype=object)
    if not rows:
        frame = frame.astype(str)
    frame = _normalise_columns(frame)
    return Table(path.name, frame.reset_index(drop=True), np.asarray(lines, dtype=np.int64),
                 header_line=header_line)


def _read_plain_csv(raw: bytes, file: str) -> Table | None:
    """:func:`read_csv_table`'s result from pandas' C parser, for the common file of UTF-8
    text where every line is one record (no quote characters, no line ending but ``\n`` or
    ``\r\n``) and no line has more fields than the first: ten times faster than the csv module
    and a fifth of the memory on large files. Anything else (or a first line that is blank) is
    None, for the record-by-record reader, which words each problem."""
    if b'"' in raw or raw.count(b"\r") != raw.count(b"\r\n"):
        return None
    try:
        # in chunks: the parser holds each chunk as Python strings before they become text
        # columns, and a whole large file of them would be several times the file's size
        with pd.read_csv(io.BytesIO(raw), header=None, dtype=str, na_filter=False,
                         skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c",
                         encoding="utf-8-sig", chunksize=CSV_CHUNK_LINES) as chunks:
            cells = pd.concat(list(chunks), ignore_index=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    filled = np.zeros(len(cells), dtype=bool)
    for column in cells.columns:
        filled |= (cells[column].str.strip() != "").to_numpy(dtype=bool)
    if not filled[0]:
        return None
    header = [str(cell) for cell in cells.iloc[0]]
    keep = np.flatnonzero(filled[1:]) + 1
    # a slice, not a copy, when no line is blank (the usual file)
    frame = (cells.iloc[1:] if len(keep) == len(cells) - 1 else cells.iloc[keep]).reset_index(
        drop=True)
    frame.columns = _unique_names(header)
    if not len(frame):
        frame = frame.astype(str)
    return Table(file, _normalise_columns(frame), (keep + 1).astype(np.int64), header_line=1)


def _unique_names(header: list[str]) -> list[str]:
    """Header cells, a repeated name numbered ``name.1``, ``name.2`` (as pandas does)."""
    seen: dict[str, int] = {}
    names = []
    for cell in header:
        name = cell
        while name in seen:
            seen[cell] += 1
            name = f"{cell}.{seen[cell]}"
        seen[name] = 0
        names.append(name)
    return names


def _read_parquet(path: Path, problems: list[Problem]) -> Table | None:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several unrelated types for unreadable files
        problems.append(Problem(path.name, None, f"cannot be read as Parquet: {err}"))
        return None
    frame = _normalise_columns(frame).reset_index(drop=True)
    return Table(path.name, frame, np.arange(len(frame), dtype=np.int64) + 2, header_line=None)


def _normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Match column names case- and space-insensitively, never creating duplicate names."""
    names: list[str] = []
    for col in frame.columns:
        name = str(col).strip().lower()
        if name in names:  # a later spelling of a name taken: keep it as written, numbered
            base, k = str(col), 0  # if even that is taken ("a,a" after "A")
            name = base
            while name in names:
                k += 1
                name = f"{base}.{k}"
        names.append(name)
    frame.columns = names
    return frame


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
