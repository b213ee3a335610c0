"""Cutting the long tail of ingredients seen in only a few training recipes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from models.choices import RARE_MODES
from models.data import Dataset

RARE = "<rare>"


def cut_rare_ingredients(
    dataset: Dataset, train_ids: Sequence[str], *, min_count: int, mode: str = "merge"
) -> Dataset:
    """Remove the long tail of ingredients seen in fewer than ``min_count`` training recipes.

    Counts come from the recipes in ``train_ids`` only, so the cut never looks at test data; an
    ingredient that appears only outside training counts 0 and is cut for any ``min_count >= 1``.
    ``mode="merge"`` renames every rare ingredient to one shared ``"<rare>"`` code (amounts of
    several rare ingredients in one recipe are summed), so the model learns one vector for "some
    uncommon ingredient"; ``mode="drop"`` deletes their rows, except that a recipe made only of
    rare ingredients keeps one ``"<rare>"`` row with their total, so no recipe vanishes.
    """
    if mode not in RARE_MODES:
        raise ValueError(f"mode must be one of {RARE_MODES}, not {mode!r}")
    f = dataset.formulations
    if (f["ingredient"] == RARE).any():
        raise ValueError(f"the data already uses the ingredient code {RARE!r}")
    in_train = f[f["formulation_id"].isin(set(train_ids))]
    counts = in_train["ingredient"].value_counts()
    rare = f["ingredient"].map(counts).fillna(0).to_numpy() < min_count
    if not rare.any():
        return dataset
    keep = np.ones(len(f), dtype=bool)
    if mode == "drop":
        has_common = set(f.loc[~rare, "formulation_id"])
        keep = ~rare | ~f["formulation_id"].isin(has_common).to_numpy()
    table = f.assign(ingredient=f["ingredient"].where(~rare, RARE))[keep]
    # One row per (formulation, ingredient), in the original order of first appearance.
    table = (table.groupby(["formulation_id", "ingredient"], sort=False, as_index=False)
             ["amount"].sum())
    order = pd.factorize(table["formulation_id"])[0].argsort(kind="stable")
    return replace(dataset, formulations=table.iloc[order].reset_index(drop=True))
