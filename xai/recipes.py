"""Recipes as a user hands them over, checked once and turned into :class:`~xai.cases.Cases`.

The Python API accepts recipes in three forms:

- a long table (pandas DataFrame) with columns ``formulation_id, ingredient, amount``, one row
  per ingredient of a recipe (a repeated pair is summed, as in a dataset folder);
- a dict of dicts ``{formulation_id: {ingredient: amount}}``;
- a :class:`models.Dataset` (its recipes, and its measurements where they help).

:func:`as_recipes` normalises any of them to ``{formulation_id: (ingredients, amounts)}`` and
refuses what a model cannot read (non-finite or negative amounts, empty recipes);
:func:`recipe_cases` pairs recipes with properties and encodes them through the model's own
encoder, naming every ingredient the model never saw; :func:`with_descriptors` first lets a
model with ingredient descriptors take unseen ingredients that a descriptor table describes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from models.trained import TrainedModel
    from xai.cases import Cases

Recipe = tuple[list[str], np.ndarray]
COLUMNS = ("formulation_id", "ingredient", "amount")


def as_recipes(recipes: Any) -> dict[str, Recipe]:
    """``{formulation_id: (ingredient names, (n,) float64 amounts)}`` from a long DataFrame, a
    dict of dicts or a Dataset, in the order given; raises ValueError on anything a model
    cannot read."""
    from models.data import Dataset

    if isinstance(recipes, Dataset):
        out = recipes.recipes()
    elif hasattr(recipes, "columns") and hasattr(recipes, "groupby"):
        out = _from_frame(recipes)
    elif isinstance(recipes, Mapping):
        out = _from_mapping(recipes)
    else:
        raise TypeError("recipes must be a DataFrame (formulation_id, ingredient, amount), a "
                        "dict {formulation_id: {ingredient: amount}} or a models.Dataset, not "
                        f"{type(recipes).__name__}")
    if not out:
        raise ValueError("no recipes given")
    _check_amounts(out)
    return out


def with_descriptors(model: TrainedModel, recipes: Any,
                     descriptors: pd.DataFrame | None) -> TrainedModel:
    """``model`` extended by the ingredients of ``recipes`` it never saw that ``descriptors``
    describes (an ingredients table: an ``ingredient`` column or index and the model's
    descriptor columns), as ``xai predict`` does with a folder's ingredients.csv; ``model``
    itself when there is nothing to add."""
    from models.descriptors import describable, extend_vocabulary

    if descriptors is None:
        return model
    table = descriptors.copy()
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "ingredient" in table.columns:
        table = table.set_index("ingredient")
    table.index = table.index.astype(str)
    names = [n for names, _ in as_recipes(recipes).values() for n in names]
    unseen = model.encoder.unknown_ingredients(names)
    described = describable(model, unseen, table)
    return extend_vocabulary(model, described, table) if described else model


def recipe_cases(
    model: TrainedModel,
    recipes: Any,
    properties: Sequence[str] | None = None,
    *,
    balance_ingredient: str | None = None,
) -> Cases:
    """Cases for ``recipes`` (any form :func:`as_recipes` takes) and ``properties``.

    With ``properties``, every recipe is paired with every listed property. Without, a Dataset's
    recipes are paired with the properties measured on them (its formulations without a
    measurement are left out), and recipes given directly with every property the model
    predicts. A Dataset supplies measured values (mean per pair) and, by default, the balance
    ingredient its ``truth.json`` names.
    """
    from models.data import Dataset
    from xai.cases import encode_cases, make_cases

    table = as_recipes(recipes)
    if properties is not None:
        properties = [properties] if isinstance(properties, str) else list(properties)
        unknown = [p for p in dict.fromkeys(properties) if p not in set(model.properties)]
        if unknown:
            raise ValueError(f"the model does not predict {unknown}; it predicts "
                             f"{list(model.properties)}")
        if not properties:
            raise ValueError("properties is empty")
    unseen = model.encoder.unknown_ingredients(
        [name for names, _ in table.values() for name in names])
    if unseen:
        shown = ", ".join(repr(u) for u in unseen[:10])
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        raise ValueError(f"ingredients the model never saw: {shown}{more}; it has no vector "
                         "for them (retrain with them, leave them out, or, for a model trained "
                         "with descriptors, pass descriptors=)")
    if balance_ingredient is not None and not any(
            balance_ingredient in names for names, _ in table.values()):
        raise ValueError(f"balance ingredient {balance_ingredient!r} is in none of the recipes")
    if isinstance(recipes, Dataset):
        cases = make_cases(model, recipes, list(table), properties,
                           balance_ingredient=balance_ingredient)
    else:
        pairs = [(f, p) for f in table for p in (properties or model.properties)]
        cases = encode_cases(model, table, pairs, balance_ingredient=balance_ingredient)
    if len(cases) == 0:
        raise ValueError("no (formulation, property) pairs to compute: none of the recipes has "
                         "a measurement of a property the model predicts; name properties")
    return cases


def _from_frame(frame) -> dict[str, Recipe]:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"a recipe table needs the columns {list(COLUMNS)}; missing {missing}")
    import pandas as pd

    amount = pd.to_numeric(frame["amount"], errors="coerce")
    bad = frame[amount.isna() & frame["amount"].notna()]
    if len(bad):
        row = bad.iloc[0]
        raise ValueError(f"amount {row['amount']!r} of {row['ingredient']!r} in formulation "
                         f"{row['formulation_id']!r} is not a number")
    if frame["formulation_id"].isna().any() or frame["ingredient"].isna().any():
        raise ValueError("a recipe table row has no formulation_id or no ingredient")
    long = pd.DataFrame({"formulation_id": frame["formulation_id"].astype(str),
                         "ingredient": frame["ingredient"].astype(str),
                         "amount": amount.astype(np.float64)})
    summed = long.groupby(["formulation_id", "ingredient"], sort=False)["amount"].sum(
        min_count=1)
    out: dict[str, Recipe] = {}
    for (fid, name), value in summed.items():
        names, amounts = out.setdefault(fid, ([], []))
        names.append(name)
        amounts.append(value)
    return {f: (names, np.asarray(amounts, dtype=np.float64))
            for f, (names, amounts) in out.items()}


def _from_mapping(recipes: Mapping) -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    for fid, recipe in recipes.items():
        if not isinstance(recipe, Mapping):
            raise TypeError(f"recipe {fid!r} must be a dict {{ingredient: amount}}, not "
                            f"{type(recipe).__name__}")
        amounts = []
        for name, value in recipe.items():
            try:
                amounts.append(float(value))
            except (TypeError, ValueError):
                raise ValueError(f"amount {value!r} of {name!r} in formulation {fid!r} is not "
                                 "a number") from None
        if str(fid) in out:
            raise ValueError(f"formulation {str(fid)!r} is given twice")
        out[str(fid)] = ([str(name) for name in recipe], np.asarray(amounts, dtype=np.float64))
    return out


def _check_amounts(recipes: dict[str, Recipe]) -> None:
    problems = []
    for fid, (names, amounts) in recipes.items():
        if not names:
            problems.append(f"formulation {fid!r} has no ingredients")
        for name, value in zip(names, amounts, strict=True):
            if not math.isfinite(value) or value < 0:
                problems.append(f"{name!r} in formulation {fid!r} has amount {value}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ValueError("amounts must be finite and >= 0: " + "; ".join(problems[:5]) + more)
