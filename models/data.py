"""Load a dataset folder into a :class:`Dataset`, checking everything a user can get wrong.

A dataset is a folder of tables (each ``NAME.csv`` or ``NAME.parquet``); see the data contract
in the design notes. :func:`load_dataset` reads every table, collects every problem and raises
one :class:`DataError` naming file, line and reason for each, so nothing is trained on a
folder with errors. Ids and names are ``str`` (``"NA"`` and ``"001"`` survive as written),
amounts and values ``float64``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from models.optional_tables import (
    amount_unit,
    ingredients_table,
    properties_table,
    substitutions_table,
)
from models.recipe_table import Recipes, recipes_table
from models.table_files import read_table
from models.validation import (
    DataError,
    Problem,
    Table,
    capped,
    number_cells,
    quote,
    read_truth,
    require_columns,
    text_cells,
)

__all__ = ["DataError", "Dataset", "Problem", "load_dataset"]

TABLE_NAMES = ("formulations", "measurements", "ingredients", "properties", "substitutions")
REQUIRED_TABLES = ("formulations", "measurements")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated dataset folder.

    Attributes
    ----------
    root : the folder it was read from.
    formulations : ``formulation_id`` (str), ``ingredient`` (str), ``amount`` (float64); one row
        per (formulation, ingredient), repeats summed; formulations in order of first appearance,
        ingredients in order of first appearance within their recipe.
    measurements : ``formulation_id``, ``property`` (str), ``value`` (float64); every row kept,
        in file order (repeats are separate samples).
    ingredients : ``ingredient``, ``group``, ``name`` (str; ``""`` where not given), or ``None``.
    properties : ``property``, ``group`` (str, ``""`` where not given), ``transform``
        (``"log"`` or ``"identity"``), ``order`` (float64, NaN where not given), ``unit`` (str,
        ``""`` where not given), or ``None``.
    substitutions : ``ingredient``, ``substitute`` (str), or ``None``.
    truth : the parsed ``truth.json``, or ``None``.
    duplicate_pairs : number of (formulation, ingredient) pairs that appeared on more than one
        row and were summed.
    warnings : things worth knowing that do not stop training.
    amount_unit : the unit of every amount (the ``unit`` column of ``formulations.csv``), or
        ``""`` when not given (shown as "as given").
    """

    root: Path
    formulations: pd.DataFrame
    measurements: pd.DataFrame
    ingredients: pd.DataFrame | None = None
    properties: pd.DataFrame | None = None
    substitutions: pd.DataFrame | None = None
    truth: dict | None = None
    duplicate_pairs: int = 0
    warnings: tuple[str, ...] = ()
    amount_unit: str = ""
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def formulation_ids(self) -> list[str]:
        """Formulation ids in order of first appearance."""
        if "ids" not in self._cache:
            self._cache["ids"] = pd.unique(self.formulations["formulation_id"]).tolist()
        return list(self._cache["ids"])

    @property
    def property_names(self) -> list[str]:
        """Sorted names of the properties measured or listed in properties.csv (union)."""
        if "properties" not in self._cache:
            names = set(self.measurements["property"].unique())
            if self.properties is not None:
                names |= set(self.properties["property"])
            self._cache["properties"] = sorted(names)
        return list(self._cache["properties"])

    @property
    def ingredient_names(self) -> list[str]:
        """Sorted codes of the ingredients used in formulations."""
        if "ingredients" not in self._cache:
            self._cache["ingredients"] = sorted(set(self.formulations["ingredient"].unique()))
        return list(self._cache["ingredients"])

    def recipe(self, formulation_id: str) -> tuple[list[str], np.ndarray]:
        """One recipe: its ingredient codes and (n,) float64 amounts, in recipe order."""
        recipes = self._recipes()
        if formulation_id not in recipes:
            raise KeyError(f"unknown formulation {formulation_id!r}")
        return recipes[formulation_id]

    def recipes(self) -> dict[str, tuple[list[str], np.ndarray]]:
        """Every recipe by formulation id, in order of first appearance.

        Built once and cached; the amount arrays are shared between calls, so copy before
        changing them in place.
        """
        return dict(self._recipes())

    def _recipes(self) -> dict[str, tuple[list[str], np.ndarray]]:
        if "recipes" not in self._cache:
            self._cache["recipes"] = _split_recipes(self.formulations)
        return self._cache["recipes"]

    def ingredient_groups(self) -> dict[str, str]:
        """Ingredient -> expert group from ingredients.csv; ``{}`` when the file is absent."""
        if self.ingredients is None:
            return {}
        t = self.ingredients[self.ingredients["group"] != ""]
        return dict(zip(t["ingredient"], t["group"], strict=True))

    def property_groups(self) -> dict[str, str]:
        """Property -> group from properties.csv (only properties given a group)."""
        if self.properties is None:
            return {}
        t = self.properties[self.properties["group"] != ""]
        return dict(zip(t["property"], t["group"], strict=True))

    def property_transforms(self) -> dict[str, str]:
        """Target transform (``"log"`` or ``"identity"``) for every property name."""
        transforms = dict.fromkeys(self.property_names, "identity")
        if self.properties is not None:
            transforms.update(
                zip(self.properties["property"], self.properties["transform"], strict=True)
            )
        return transforms

    def property_units(self) -> dict[str, str]:
        """Property -> unit from properties.csv (only properties given one)."""
        if self.properties is None or "unit" not in self.properties.columns:
            return {}
        t = self.properties[self.properties["unit"] != ""]
        return dict(zip(t["property"], t["unit"], strict=True))

    def property_orders(self) -> dict[str, float]:
        """Property -> numeric measurement condition (RPM, age), for properties that have one."""
        if self.properties is None:
            return {}
        t = self.properties[self.properties["order"].notna()]
        return {p: float(o) for p, o in zip(t["property"], t["order"], strict=True)}

    def subset(self, formulation_ids: Iterable[str]) -> Dataset:
        """The same dataset restricted to some formulations (kept in this dataset's order).

        Optional tables, truth, ``duplicate_pairs`` and warnings describe the loaded folder and
        are kept unchanged.
        """
        keep = set(formulation_ids)
        unknown = sorted(keep - set(self.formulation_ids))
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise KeyError(f"unknown formulation ids: {shown}{more}")
        f, m = self.formulations, self.measurements
        return replace(
            self,
            formulations=f[f["formulation_id"].isin(keep)].reset_index(drop=True),
            measurements=m[m["formulation_id"].isin(keep)].reset_index(drop=True),
        )


def _split_recipes(formulations: pd.DataFrame) -> dict[str, tuple[list[str], np.ndarray]]:
    codes, ids = pd.factorize(formulations["formulation_id"])
    order = np.argsort(codes, kind="stable")
    ingredients = formulations["ingredient"].to_numpy(dtype=object)[order]
    amounts = formulations["amount"].to_numpy(dtype=np.float64)[order]
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(ids)))]
    return {
        str(fid): (ingredients[s:e].tolist(), amounts[s:e].copy())
        for fid, s, e in zip(ids, bounds[:-1], bounds[1:], strict=True)
    }


def load_dataset(
    path: str | Path, *, max_ingredients: int | None = None, require_measurements: bool = True
) -> Dataset:
    """Read and check a dataset folder.

    Parameters
    ----------
    path : folder holding ``formulations`` and ``measurements`` (CSV or Parquet) and optionally
        ``ingredients``, ``properties``, ``substitutions`` and ``truth.json``. Cells are
        stripped of surrounding spaces, column names matched case-insensitively, blank lines
        skipped and unknown columns ignored.
    max_ingredients : if given, a recipe with more distinct ingredients is an error (the model
        was built for at most that many slots).
    require_measurements : if False (folders to predict for), measurements may be absent or
        empty, and formulations without them are not warned about.

    Raises
    ------
    DataError
        Listing every problem found, each with its file, line and reason.
    """
    root = Path(path)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(root, [Problem(str(root), None, f"dataset folder {what}")])
    problems: list[Problem] = []
    warnings: list[str] = []
    tables = {name: read_table(root, name, problems) for name in TABLE_NAMES}
    required = REQUIRED_TABLES if require_measurements else ("formulations",)
    for name in required:
        present = (root / f"{name}.csv").exists() or (root / f"{name}.parquet").exists()
        if tables[name] is None and not present:  # else reading it already said what is wrong
            problems.append(Problem(f"{name}.csv", None, f"required file is missing (expected "
                                                         f"{name}.csv or {name}.parquet)"))

    recipes = recipes_table(tables["formulations"], problems, max_ingredients)
    measurements = _measurements(tables["measurements"], recipes, problems,
                                 required=require_measurements)
    used = set(recipes.frame["ingredient"].unique()) if recipes is not None else None
    measured = set(measurements["property"].unique()) if measurements is not None else None
    ingredients = ingredients_table(tables["ingredients"], used, problems, warnings)
    properties = properties_table(tables["properties"], measured, problems, warnings)
    substitutions = substitutions_table(tables["substitutions"], used, problems, warnings)
    truth = read_truth(root, problems)
    unit = amount_unit(tables["formulations"], problems)
    problems += _non_positive_log_values(tables["measurements"], properties)
    if problems:
        raise DataError(root, _sorted(problems))
    assert recipes is not None and measurements is not None  # else a problem was reported

    measured_ids = set(measurements["formulation_id"].unique())
    unmeasured = [f for f in recipes.first_line if f not in measured_ids]
    if not require_measurements:
        unmeasured = []
    warnings[:0] = recipes.warnings + capped(
        [f"{recipes.file}, line {recipes.first_line[f]}: formulation {quote(f)} has no "
         f"measurements; it is kept for prediction only" for f in unmeasured],
        "formulations without measurements",
    )
    return Dataset(
        root=root,
        formulations=recipes.frame,
        measurements=measurements,
        ingredients=ingredients,
        properties=properties,
        substitutions=substitutions,
        truth=truth,
        duplicate_pairs=recipes.duplicate_pairs,
        warnings=tuple(warnings),
        amount_unit=unit,
    )


def _measurements(
    table: Table | None, recipes: Recipes | None, problems: list[Problem], *, required: bool
) -> pd.DataFrame | None:
    if table is None and not required:
        return _measurement_frame(pd.Series([], dtype=str), pd.Series([], dtype=str),
                                  pd.Series([], dtype="float64"))
    if table is None or not require_columns(
        table, ("formulation_id", "property", "value"), problems
    ):
        return None
    fid = text_cells(table, "formulation_id", problems)
    prop = text_cells(table, "property", problems)
    value = number_cells(table, "value", problems)
    if len(table) == 0 and required:
        problems.append(Problem(table.file, None, "has no rows: there is nothing to train on"))
    if recipes is not None:
        unknown = ((fid != "") & ~fid.isin(recipes.all_ids)).to_numpy()
        for i in np.flatnonzero(unknown):
            problems.append(Problem(table.file, int(table.lines[i]),
                                    f"formulation {quote(fid[i])} is not in {recipes.file}"))
    ok = ((fid != "") & (prop != "") & value.notna()).to_numpy()
    return _measurement_frame(fid[ok], prop[ok], value[ok])


def _measurement_frame(fid: pd.Series, prop: pd.Series, value: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        "formulation_id": fid.astype(str),
        "property": prop.astype(str),
        "value": value.astype("float64"),
    }).reset_index(drop=True)


def _non_positive_log_values(table: Table | None, properties: pd.DataFrame | None) -> list[Problem]:
    """A property with a ``log`` transform cannot take values <= 0."""
    if table is None or properties is None or "value" not in table.frame:
        return []
    logged = set(properties.loc[properties["transform"] == "log", "property"])
    if not logged or "property" not in table.frame:
        return []
    prop = table.frame["property"].astype(str).str.strip()
    value = pd.to_numeric(table.frame["value"], errors="coerce")
    bad = (prop.isin(logged) & (value <= 0)).to_numpy()
    return [
        Problem(table.file, int(table.lines[i]),
                f"value {value.iloc[i]:g} of property {quote(prop.iloc[i])} is not positive, but "
                "properties.csv gives it a log transform")
        for i in np.flatnonzero(bad)
    ]


def _sorted(problems: list[Problem]) -> list[Problem]:
    """Problems grouped by file (in contract order), then by line."""
    rank = {f"{n}.{ext}": i for i, n in enumerate(TABLE_NAMES) for ext in ("csv", "parquet")}
    rank["truth.json"] = len(TABLE_NAMES)
    return sorted(problems, key=lambda p: (rank.get(p.file, -1), p.line or 0))
