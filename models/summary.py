"""Counts that describe a dataset, for the report and the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from models.data import Dataset


@dataclass(frozen=True)
class DataSummary:
    """Counts that describe a dataset, for the report and the command line.

    ``ingredients_per_recipe`` holds ``min``, ``median``, ``mean`` and ``max``;
    ``ingredient_frequency`` maps each ingredient to the number of recipes containing it, most
    frequent first.
    """

    n_formulations: int
    n_measurements: int
    n_ingredients: int
    n_properties: int
    measurements_per_property: dict[str, int]
    ingredients_per_recipe: dict[str, float]
    ingredient_frequency: dict[str, int]
    duplicate_pairs: int
    warnings: list[str]

    def to_dict(self) -> dict:
        """A JSON-serialisable copy."""
        return asdict(self)


def summarize(dataset: Dataset) -> DataSummary:
    """Count formulations, measurements, ingredients and properties of ``dataset``."""
    f, m = dataset.formulations, dataset.measurements
    counts = m["property"].value_counts()
    sizes = f.groupby("formulation_id", sort=False).size().to_numpy()
    stats = (
        {"min": float(sizes.min()), "median": float(np.median(sizes)),
         "mean": float(sizes.mean()), "max": float(sizes.max())}
        if len(sizes) else dict.fromkeys(("min", "median", "mean", "max"), 0.0)
    )
    # Rows are unique per (formulation, ingredient), so rows per ingredient = recipes with it.
    freq = f["ingredient"].value_counts()
    order = sorted(freq.index, key=lambda i: (-int(freq[i]), i))
    return DataSummary(
        n_formulations=len(dataset.formulation_ids),
        n_measurements=len(m),
        n_ingredients=len(dataset.ingredient_names),
        n_properties=len(dataset.property_names),
        measurements_per_property={p: int(counts.get(p, 0)) for p in dataset.property_names},
        ingredients_per_recipe=stats,
        ingredient_frequency={str(i): int(freq[i]) for i in order},
        duplicate_pairs=int(dataset.duplicate_pairs),
        warnings=list(dataset.warnings),
    )
