"""Wide lab tables (one row per recipe, one column per ingredient, property columns beside) to the
data contract's long tables.

Reads a CSV file or an Excel workbook (``.xlsx`` / ``.xlsm``, via openpyxl, cached values of
formulas). Which column is the recipe id, which are properties and which to ignore is said by a
:class:`WideLayout` (every other column is an ingredient); a small mapping file
(``column,role[,name,unit]``, role one of ``id``, ``ingredient``, ``property``, ``ignore``) can say
it instead. An optional units row right under the header gives each property's unit.

Every bad cell is reported with where it is: ``Recipes!C17: 'abc' is not a number`` in a
workbook, ``lab.csv, line 17, column 'C': ...`` in a CSV file, all of them in one
:class:`WideImportError`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models.errors import InputError
from models.io import atomic_folder

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
ROLES = ("id", "ingredient", "property", "ignore")
MAX_LISTED = 50


class WideImportError(InputError):
    """A wide table that cannot be imported, with every problem and where it is."""

    def __init__(self, file: str | Path, problems: list[str]) -> None:
        self.problems = list(problems)
        n = len(problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} in {file}:"]
        lines += [f"  {p}" for p in problems[:MAX_LISTED]]
        if n > MAX_LISTED:
            lines.append(f"  ... and {n - MAX_LISTED} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class WideLayout:
    """What the columns of a wide table are.

    ``id_column``: the recipe id column (default: the first column). ``properties``: property
    columns (measured values); ``ignore``: columns to skip; every other column is an ingredient.
    ``names``: column -> name to write (renames an ingredient or a property). ``units``: property
    -> unit, merged with the units row when ``units_row`` is set. ``sheet``: the worksheet of a
    workbook (default: the first).
    """

    id_column: str | None = None
    properties: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    units_row: bool = False
    sheet: str | None = None


@dataclass(frozen=True)
class WideTables:
    """The contract's tables: ``formulations`` (long), ``measurements`` (long, possibly empty)
    and ``properties`` (``property, unit``; None without units)."""

    formulations: pd.DataFrame
    measurements: pd.DataFrame
    properties: pd.DataFrame | None


def read_mapping(path: str | Path, layout: WideLayout | None = None) -> WideLayout:
    """A :class:`WideLayout` from a mapping CSV (``column,role[,name,unit]``), keeping
    ``units_row`` and ``sheet`` of ``layout``."""
    path = Path(path)
    layout = layout or WideLayout()
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise WideImportError(path, [f"cannot read the mapping file ({err})"]) from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    problems = [f"{path.name}: missing column {c!r}" for c in ("column", "role")
                if c not in frame]
    if problems:
        raise WideImportError(path, problems)
    ids, properties, ignore, names, units = [], [], [], {}, {}
    for i, row in frame.iterrows():
        column, role = row["column"].strip(), row["role"].strip().lower()
        where = f"{path.name}, line {i + 2}"
        if role not in ROLES:
            problems.append(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
            continue
        {"id": ids, "property": properties, "ignore": ignore}.get(role, []).append(column)
        if row.get("name", "").strip():
            names[column] = row["name"].strip()
        if row.get("unit", "").strip():
            units[names.get(column, column)] = row["unit"].strip()
    if len(ids) > 1:
        problems.append(f"{path.name}: more than one id column ({', '.join(ids)})")
    if problems:
        raise WideImportError(path, problems)
    return WideLayout(id_column=ids[0] if ids else layout.id_column,
                      properties=tuple(properties), ignore=tuple(ignore), names=names,
                      units={**layout.units, **units}, units_row=layout.units_row,
                      sheet=layout.sheet)


def read_wide(path: str | Path, layout: WideLayout | None = None) -> WideTables:
    """Read a wide CSV file or workbook into the contract's long tables.

    Ingredient cells: empty means absent, otherwise a number >= 0 (0 is absent too). Property
    cells: empty means not measured, otherwise a number. Raises :class:`WideImportError`
    listing every bad cell by sheet and cell (workbooks) or line and column (CSV).
    """
    path = Path(path)
    layout = layout or WideLayout()
    if not path.is_file():
        raise WideImportError(path, ["no such file"])
    grid = _read_excel(path, layout.sheet) if path.suffix.lower() in EXCEL_SUFFIXES else (
        _read_csv(path))
    return _to_long(grid, layout)


def write_contract(tables: WideTables, out: str | Path) -> Path:
    """Write the tables as a dataset folder (``formulations.csv``, ``measurements.csv`` when
    there are measurements, ``properties.csv`` when units are known), all at once."""
    out = Path(out)
    with atomic_folder(out) as tmp:
        tables.formulations.to_csv(tmp / "formulations.csv", index=False, lineterminator="\n")
        if len(tables.measurements):
            tables.measurements.to_csv(tmp / "measurements.csv", index=False,
                                       lineterminator="\n")
        if tables.properties is not None:
            tables.properties.to_csv(tmp / "properties.csv", index=False, lineterminator="\n")
    return out


@dataclass(frozen=True)
class _Grid:
    """Cells as read, with where each one is: ``rows[i][j]`` is at ``where(i, j)``."""

    file: str
    header: list
    rows: list[list]
    where: object  # (row index into rows, column index) -> str
    first_row: int  # spreadsheet row / file line of rows[0]


def _read_excel(path: Path, sheet: str | None) -> _Grid:
    try:
        from openpyxl import load_workbook
        from openpyxl.utils import get_column_letter
    except ImportError as err:  # a dependency, but say what is missing if it is not there
        raise WideImportError(path, [f"reading Excel files needs openpyxl ({err})"]) from None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises zipfile / KeyError / its own errors
        raise WideImportError(path, [f"not a readable Excel workbook ({err})"]) from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise WideImportError(path, [f"no sheet {sheet!r}; the workbook has "
                                         f"{', '.join(book.sheetnames)}"])
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        title = ws.title
    finally:
        book.close()
    if not values:
        raise WideImportError(path, [f"sheet {title!r} is empty"])
    quoted = f"'{title}'" if any(c in title for c in " !'-") else title

    def where(i: int, j: int) -> str:
        return f"{quoted}!{get_column_letter(j + 1)}{i + 2}"

    return _Grid(path.name, values[0], values[1:], where, 2)


def _read_csv(path: Path) -> _Grid:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows, lines = [], []
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise WideImportError(path, [f"cannot read the CSV file ({err})"]) from None
    if not rows:
        raise WideImportError(path, ["the file is empty"])
    header = rows[0]

    def where(i: int, j: int) -> str:
        name = header[j] if j < len(header) else f"#{j + 1}"
        return f"{path.name}, line {lines[i + 1]}, column {name!r}"

    return _Grid(path.name, header, rows[1:], where, 2)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value) -> float | None | str:
    """A cell as a float, None when empty, or the offending text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else str(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return str(value)
    return number if math.isfinite(number) else str(value).strip()


def _to_long(grid: _Grid, layout: WideLayout) -> WideTables:
    problems: list[str] = []
    header = [_text(h) for h in grid.header]
    while header and not header[-1]:
        header.pop()
    columns = {h: j for j, h in reversed(list(enumerate(header))) if h}
    seen: set[str] = set()
    for j, h in enumerate(header):
        if not h:
            problems.append(f"{grid.where(-1, j)}: empty column header")
        elif h in seen:
            problems.append(f"{grid.where(-1, j)}: column {h!r} appears more than once")
        seen.add(h)
    id_column = layout.id_column or (header[0] if header else "")
    for role, names in (("id", [id_column]), ("property", layout.properties),
                        ("ignored", layout.ignore)):
        for name in names:
            if name not in columns:
                problems.append(f"{grid.file}: no {role} column {name!r} in the header "
                                f"(columns: {', '.join(header[:20])})")
    if problems:
        raise WideImportError(grid.file, problems)
    rows = grid.rows
    units = dict(layout.units)
    if layout.units_row:
        if not rows:
            raise WideImportError(grid.file, ["a units row was announced but there is none"])
        for prop in layout.properties:
            unit = _text(rows[0][columns[prop]] if columns[prop] < len(rows[0]) else None)
            if unit:
                units.setdefault(layout.names.get(prop, prop), unit)
        rows, offset = rows[1:], 1
    else:
        offset = 0
    special = {id_column, *layout.properties, *layout.ignore}
    ingredients = [h for h in header if h and h not in special]
    if not ingredients:
        problems.append(f"{grid.file}: no ingredient columns (every column is the id, a "
                        "property or ignored)")
    recipes, measured, ids = [], [], {}
    for i, row in enumerate(rows, start=offset):
        cells = list(row) + [None] * (len(header) - len(row))
        if all(_text(c) == "" for c in cells[: len(header)]):
            continue  # blank line
        fid = _text(cells[columns[id_column]])
        if not fid:
            problems.append(f"{grid.where(i, columns[id_column])}: the recipe id is empty")
            continue
        if fid in ids:
            problems.append(f"{grid.where(i, columns[id_column])}: recipe id {fid!r} already "
                            f"used at {ids[fid]}")
            continue
        ids[fid] = grid.where(i, columns[id_column])
        for name in ingredients:
            j = columns[name]
            value = _number(cells[j])
            if isinstance(value, str):
                problems.append(f"{grid.where(i, j)}: {value!r} is not a number")
            elif value is not None and value < 0:
                problems.append(f"{grid.where(i, j)}: amount {value:g} is negative")
            elif value:
                recipes.append((fid, layout.names.get(name, name), value))
        for prop in layout.properties:
            j = columns[prop]
            value = _number(cells[j])
            if isinstance(value, str):
                problems.append(f"{grid.where(i, j)}: {value!r} is not a number")
            elif value is not None:
                measured.append((fid, layout.names.get(prop, prop), value))
    present = {f for f, _, _ in recipes}
    for fid, at in ids.items():
        if fid not in present:
            problems.append(f"{at}: recipe {fid!r} has no ingredient with an amount above 0")
    if not ids and not problems:
        problems.append(f"{grid.file}: no recipes below the header")
    if problems:
        raise WideImportError(grid.file, problems)
    properties = None
    if units:
        names = [layout.names.get(p, p) for p in layout.properties]
        properties = pd.DataFrame({"property": names, "unit": [units.get(n, "") for n in names]})
    return WideTables(
        formulations=pd.DataFrame(recipes, columns=["formulation_id", "ingredient", "amount"]),
        measurements=pd.DataFrame(measured, columns=["formulation_id", "property", "value"]),
        properties=properties,
    )
