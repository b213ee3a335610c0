"""The optional tables of a dataset folder: ingredients, properties and substitutions.

Each reader turns a :class:`models.validation.Table` into a clean frame, appending what is wrong
to ``problems`` (a listing that contradicts an earlier row) and what is odd to ``warnings`` (an
entry no formulation or measurement uses), like every check in :mod:`models.validation`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.validation import (
    TRANSFORMS,
    Problem,
    Table,
    capped,
    number_cells,
    quote,
    require_columns,
    text_cells,
)


def ingredients_table(
    table: Table | None, used: set[str] | None, problems: list[Problem], warnings: list[str]
) -> pd.DataFrame | None:
    """``ingredient, group, name`` (all str), one row per ingredient.

    An ingredient listed twice with different groups is a problem; one never used in a
    formulation (``used``, when known) is a warning.
    """
    if table is None or not require_columns(table, ("ingredient", "group"), problems):
        return None
    frame = pd.DataFrame({
        "ingredient": text_cells(table, "ingredient", problems),
        "group": text_cells(table, "group", problems, allow_empty=True),
        "name": _optional_text(table, "name", problems),
        "line": table.lines,
    })
    frame = _first_of_each(table, frame[frame["ingredient"] != ""], "ingredient", ["group"],
                           problems)
    if used is not None:
        warnings += capped(
            [f"{table.file}, line {line}: ingredient {quote(i)} is never used in a formulation"
             for i, line in zip(frame["ingredient"], frame["line"], strict=True) if i not in used],
            "unused ingredients",
        )
    return frame.drop(columns="line")


def properties_table(
    table: Table | None, measured: set[str] | None, problems: list[Problem], warnings: list[str]
) -> pd.DataFrame | None:
    """``property, group, transform, order, unit``, one row per property; missing columns
    filled.

    ``transform`` is normalised to ``"log"`` / ``"identity"``; ``order`` is float64 or NaN;
    ``unit`` is the unit shown in reports (``""`` where not given).
    """
    if table is None or not require_columns(table, ("property",), problems):
        return None
    transform = _optional_text(table, "transform", problems).str.lower()
    for i in np.flatnonzero((~transform.isin([*TRANSFORMS, ""])).to_numpy()):
        problems.append(
            Problem(table.file, int(table.lines[i]),
                    f"transform {quote(transform[i])} is not one of "
                    f"{', '.join(map(quote, TRANSFORMS))} (or empty)")
        )
    if "order" in table.frame.columns:
        order = number_cells(table, "order", problems, allow_empty=True)
    else:
        order = pd.Series(np.nan, index=table.frame.index, dtype="float64")
    frame = pd.DataFrame({
        "property": text_cells(table, "property", problems),
        "group": _optional_text(table, "group", problems),
        "transform": transform.where(transform != "", "identity"),
        "order": order,
        "unit": _optional_text(table, "unit", problems),
        "line": table.lines,
    })
    frame = _first_of_each(table, frame[frame["property"] != ""], "property",
                           ["group", "transform", "order", "unit"], problems)
    if measured is not None:
        warnings += capped(
            [f"{table.file}, line {line}: property {quote(p)} has no measurements"
             for p, line in zip(frame["property"], frame["line"], strict=True)
             if p not in measured],
            "properties without measurements",
        )
    return frame.drop(columns="line")


def amount_unit(table: Table | None, problems: list[Problem]) -> str:
    """The unit of every amount, from the optional ``unit`` column of ``formulations.csv``:
    one value for the whole file (``""`` where not given); a second, different value is a
    problem naming its line."""
    if table is None or "unit" not in table.frame.columns:
        return ""
    units = _optional_text(table, "unit", problems)
    given = units[units != ""]
    if given.empty:
        return ""
    first = given.iloc[0]
    for i in np.flatnonzero((units != "") & (units != first)):
        problems.append(Problem(table.file, int(table.lines[i]),
                                f"unit {quote(units[i])} differs from {quote(first)} on line "
                                f"{int(table.lines[given.index[0]])}: amounts take one unit"))
        break
    return first


def substitutions_table(
    table: Table | None, used: set[str] | None, problems: list[Problem], warnings: list[str]
) -> pd.DataFrame | None:
    """``ingredient, substitute`` (str), repeated pairs dropped.

    A pair naming an ingredient no formulation uses (``used``, when known) is a warning.
    """
    if table is None or not require_columns(table, ("ingredient", "substitute"), problems):
        return None
    frame = pd.DataFrame({
        "ingredient": text_cells(table, "ingredient", problems),
        "substitute": text_cells(table, "substitute", problems),
        "line": table.lines,
    })
    frame = frame[(frame["ingredient"] != "") & (frame["substitute"] != "")]
    frame = frame.drop_duplicates(["ingredient", "substitute"]).reset_index(drop=True)
    if used is not None:
        messages = []
        for ing, sub, line in frame.itertuples(index=False):
            unknown = [quote(x) for x in (ing, sub) if x not in used]
            if unknown:
                verb = "is" if len(unknown) == 1 else "are"
                messages.append(f"{table.file}, line {line}: {' and '.join(unknown)} {verb} "
                                f"not used in any formulation")
        warnings += capped(messages, "substitutions naming unknown ingredients")
    return frame.drop(columns="line")


def _optional_text(table: Table, column: str, problems: list[Problem]) -> pd.Series:
    if column not in table.frame.columns:
        return pd.Series("", index=table.frame.index, dtype=str)
    return text_cells(table, column, problems, allow_empty=True)


def _first_of_each(
    table: Table, frame: pd.DataFrame, key: str, columns: list[str], problems: list[Problem]
) -> pd.DataFrame:
    """Keep each key's first row, reporting later rows whose ``columns`` differ from it."""
    first = frame.groupby(key, sort=False)[[*columns, "line"]].transform("first")
    same = np.ones(len(frame), dtype=bool)
    for col in columns:
        a, b = frame[col], first[col]
        same &= ((a == b) | (a.isna() & b.isna())).to_numpy()
    for i in np.flatnonzero(~same):
        row, was = frame.iloc[i], first.iloc[i]
        differ = [c for c in columns if _shown(row[c]) != _shown(was[c])]
        now = ", ".join(f"{c} {quote(_shown(row[c]))}" for c in differ)
        before = ", ".join(f"{c} {quote(_shown(was[c]))}" for c in differ)
        problems.append(
            Problem(table.file, int(row["line"]),
                    f"{key} {quote(row[key])} is listed again with {now}, but with {before} "
                    f"on line {int(was['line'])}")
        )
    return frame.drop_duplicates(key).reset_index(drop=True)


def _shown(value: object) -> str:
    return "" if isinstance(value, float) and np.isnan(value) else str(value)
