"""The formulations table of a dataset, checked and reduced to one row per (formulation,
ingredient) pair in order of first appearance (:func:`models.data.load_dataset` calls it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.validation import (
    Problem,
    Table,
    number_cells,
    quote,
    require_columns,
    text_cells,
)


@dataclass(frozen=True, eq=False)
class Recipes:
    """The checked formulations table and what the other checks need of it."""

    file: str
    frame: pd.DataFrame  # the Dataset.formulations table
    all_ids: set[str]  # every non-empty id, rejected rows included, for the measurement check
    first_line: dict[str, int]  # formulation -> its first line, in order of first appearance
    duplicate_pairs: int
    warnings: list[str]


def recipes_table(
    table: Table | None, problems: list[Problem], max_ingredients: int | None
) -> Recipes | None:
    """``formulations.csv`` checked: empty or bad cells, non-finite recipe totals, recipes
    longer than ``max_ingredients``; repeated (formulation, ingredient) rows summed, with a
    warning. None where the table is missing or lacks its columns."""
    if table is None or not require_columns(
        table, ("formulation_id", "ingredient", "amount"), problems
    ):
        return None
    fid = text_cells(table, "formulation_id", problems)
    ingredient = text_cells(table, "ingredient", problems)
    amount = number_cells(table, "amount", problems, nonnegative=True)
    if len(table) == 0:
        problems.append(Problem(table.file, None, "has no rows: the dataset is empty"))
    ok = ((fid != "") & (ingredient != "") & amount.notna()).to_numpy()
    # grouped by integer codes in NumPy, not by the text in pandas: a fraction of the memory
    # on large files; factorize numbers formulations in order of first appearance
    recipe_codes, recipe_names = pd.factorize(fid[ok])
    ingredient_codes, ingredient_names = pd.factorize(ingredient[ok])
    lines = table.lines[ok]
    key = recipe_codes.astype(np.int64) * max(len(ingredient_names), 1) + ingredient_codes
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True,
                                          return_counts=True)
    sums = np.bincount(inverse.ravel(), weights=amount[ok].to_numpy(), minlength=len(first))
    # by formulation, then by first appearance within it (rows are in file order, so a pair's
    # first row is also its first line)
    pair_recipes = recipe_codes[first]
    order = np.lexsort((first, pair_recipes))
    pairs = pd.DataFrame({"recipe": pair_recipes[order],
                          "ingredient": ingredient_codes[first][order],
                          "amount": sums[order], "line": lines[first][order],
                          "rows": counts[order]})
    recipe = pairs["recipe"].to_numpy()
    starts = np.flatnonzero(np.r_[True, recipe[1:] != recipe[:-1]]) if len(recipe) else (
        np.zeros(0, dtype=np.int64))
    first_line = dict(zip(recipe_names.tolist(), pairs["line"].to_numpy()[starts].tolist(),
                          strict=True))
    totals = np.add.reduceat(pairs["amount"].to_numpy(), starts) if len(starts) else np.zeros(0)
    for code in np.flatnonzero(~np.isfinite(totals)):
        f = recipe_names[code]
        problems.append(Problem(table.file, first_line[f], f"the amounts of formulation "
                                                           f"{quote(f)} sum to {totals[code]}"))

    if max_ingredients is not None:
        sizes = np.diff(np.r_[starts, len(recipe)])
        for code in np.flatnonzero(sizes > max_ingredients):
            f = recipe_names[code]
            problems.append(Problem(table.file, first_line[f],
                                    f"formulation {quote(f)} has {sizes[code]} ingredients, more "
                                    f"than max_ingredients={max_ingredients}"))

    repeated = pairs[pairs["rows"] > 1]
    warnings = []
    if len(repeated):
        r, i = repeated["recipe"].iloc[0], repeated["ingredient"].iloc[0]
        where = lines[(recipe_codes == r) & (ingredient_codes == i)]
        warnings.append(
            f"{table.file}: {len(repeated)} (formulation, ingredient) pairs appear on more than "
            f"one row and their amounts were summed, e.g. formulation "
            f"{quote(recipe_names[r])}, ingredient {quote(ingredient_names[i])} on lines "
            f"{', '.join(map(str, where))}"
        )
    frame = pd.DataFrame({
        "formulation_id": _texts(recipe_names, pairs["recipe"]),
        "ingredient": _texts(ingredient_names, pairs["ingredient"]),
        "amount": pairs["amount"].astype("float64"),
    })
    return Recipes(table.file, frame, set(fid[fid != ""].unique()), first_line, len(repeated),
                    warnings)


def _texts(names: pd.Index, codes: pd.Series) -> pd.Series:
    """``names[codes]`` as a ``str`` column."""
    return pd.Series(names.take(codes.to_numpy()).astype(str), copy=False)
