"""The optional expert distance table of a dataset folder (``ingredient_distances``)."""

from __future__ import annotations

from pathlib import Path

from models.table_files import read_table
from models.validation import (
    DataError,
    Problem,
    number_cells,
    require_columns,
    text_cells,
)

EXPERT_DISTANCES = "ingredient_distances"  # optional table: ingredient_a, ingredient_b, distance


def read_expert_distances(root: Path) -> list[tuple[str, str, float]] | None:
    """Rows of the optional ``ingredient_distances`` table in the dataset folder ``root`` (CSV
    or Parquet: ``ingredient_a, ingredient_b, distance``), or None when there is none.

    Raises
    ------
    DataError
        Naming the file and line of every bad row.
    """
    problems: list[Problem] = []
    table = read_table(Path(root), EXPERT_DISTANCES, problems)
    if table is not None and require_columns(
        table, ("ingredient_a", "ingredient_b", "distance"), problems
    ):
        a = text_cells(table, "ingredient_a", problems)
        b = text_cells(table, "ingredient_b", problems)
        d = number_cells(table, "distance", problems, nonnegative=True)
    if problems:
        raise DataError(Path(root), problems)
    if table is None:
        return None
    return [(x, y, float(v)) for x, y, v in zip(a, b, d, strict=True)]
