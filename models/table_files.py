"""Reading a dataset's table files (CSV or Parquet) into :class:`models.validation.Table`,
keeping for every record the line an editor shows it on, so every problem can name it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from models.validation import Problem, Table

CSV_CHUNK_LINES = 250_000


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
