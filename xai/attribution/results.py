"""The result type every attribution method returns, and its long-format table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xai.attribution.absence import Absence
from xai.cases import Cases


@dataclass(frozen=True)
class Attribution:
    """Per-ingredient attributions for N cases, in the model's standardised output units.

    ``values`` (N, T) is aligned with the cases' ingredient slots; NaN marks padding and slots
    that are not players (the balance ingredient under ``balance`` absence). ``std_errors`` is
    (N, T) for estimators that report one (0 for cases computed exactly, NaN off the players),
    None for methods without one. ``prediction`` is f(recipe), ``baseline``
    f(every player absent); ``completeness_error`` is sum(values) - (prediction - baseline).
    ``settings`` records the method's parameters and per-case diagnostics (steps, convergence).
    """

    method: str
    absence: Absence
    formulation_ids: tuple[str, ...]
    properties: tuple[str, ...]
    ingredients: tuple[tuple[str, ...], ...]
    raw_amounts: tuple[np.ndarray, ...]
    values: np.ndarray
    prediction: np.ndarray
    baseline: np.ndarray
    std_errors: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    @property
    def completeness_error(self) -> np.ndarray:
        return np.nansum(self.values, axis=1) - (self.prediction - self.baseline)

    def __len__(self) -> int:
        return len(self.formulation_ids)

    def row(self, i: int) -> np.ndarray:
        """Case i's values for its own ingredients (length = its recipe size)."""
        return self.values[i, : len(self.ingredients[i])]

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per case x ingredient, with the case's prediction, baseline and
        completeness error repeated on each of its rows."""
        records = []
        error = self.completeness_error
        for i, names in enumerate(self.ingredients):
            for slot, name in enumerate(names):
                records.append((
                    self.formulation_ids[i], self.properties[i], name,
                    float(self.raw_amounts[i][slot]), self.method, float(self.values[i, slot]),
                    None if self.std_errors is None else float(self.std_errors[i, slot]),
                    float(self.prediction[i]), float(self.baseline[i]), float(error[i]),
                ))
        return pd.DataFrame.from_records(records, columns=[
            "formulation_id", "property", "ingredient", "amount", "method", "attribution",
            "std_error", "prediction", "baseline_prediction", "completeness_error",
        ])


def empty_values(cases: Cases) -> np.ndarray:
    """(N, T) NaN array shaped like the cases' slots."""
    return np.full(tuple(cases.ids.shape), np.nan)
