"""The result type every attribution method returns, and its long-format table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from xai.absence import Absence
from xai.results import CaseResults

if TYPE_CHECKING:
    import pandas as pd

    from xai.cases import Cases

#: the per-case diagnostics an Attribution may carry, in the order they are described
DIAGNOSTICS = ("exact", "permutations", "coalitions", "n_players", "max_std_error",
               "enumerated", "n_steps", "converged", "delta")


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Attribution(CaseResults):
    """Per-ingredient attributions for N cases, in the model's standardised output units.

    ``values`` (N, T) is aligned with the cases' ingredient slots; NaN marks padding and slots
    that are not players (the balance ingredient under ``balance`` absence). ``std_errors`` is
    (N, T) for estimators that report one (0 for cases computed exactly, NaN off the players),
    None for methods without one. ``prediction`` is f(recipe), ``baseline``
    f(every player absent); ``completeness_error`` is sum(values) - (prediction - baseline).
    ``raw_amounts[i]`` are case i's amounts in the data's units.

    ``settings`` records the method's parameters (shared by every case). Per-case diagnostics
    are (N,) arrays, None where the method has none:

    ``n_players`` (int): players attributed (Shapley values, references);
    ``exact`` (bool): Shapley values enumerated exactly rather than sampled;
    ``permutations`` (int): permutations drawn (0 where enumerated or sampled otherwise);
    ``coalitions`` (int): coalitions the model was evaluated on (Shapley values);
    ``max_std_error`` (float): the largest standard error among the case's players;
    ``enumerated`` (bool): the oracle's values could be computed (NaN elsewhere);
    ``n_steps`` (int): intervals of the last quadrature rule of Integrated Gradients;
    ``converged`` (bool): Integrated Gradients met its tolerance;
    ``delta`` (float): Integrated Gradients' completeness gap, as it measured it.
    """

    method: str
    absence: Absence
    raw_amounts: tuple[np.ndarray, ...]
    values: np.ndarray
    prediction: np.ndarray
    baseline: np.ndarray
    std_errors: np.ndarray | None = None
    settings: dict = field(default_factory=dict)
    n_players: np.ndarray | None = None
    exact: np.ndarray | None = None
    permutations: np.ndarray | None = None
    coalitions: np.ndarray | None = None
    max_std_error: np.ndarray | None = None
    enumerated: np.ndarray | None = None
    n_steps: np.ndarray | None = None
    converged: np.ndarray | None = None
    delta: np.ndarray | None = None

    _per_case: ClassVar[dict[str, tuple[int, ...]]] = {
        "raw_amounts": (), "values": (1,), "std_errors": (1,), "prediction": (), "baseline": (),
        **dict.fromkeys(DIAGNOSTICS, ()),
    }

    @property
    def completeness_error(self) -> np.ndarray:
        """(N,) sum(values) - (prediction - baseline)."""
        return np.nansum(self.values, axis=1) - (self.prediction - self.baseline)

    def diagnostics(self) -> dict[str, np.ndarray]:
        """The per-case diagnostics this attribution carries, by name (see the class doc)."""
        return {name: getattr(self, name) for name in DIAGNOSTICS
                if getattr(self, name) is not None}

    def row(self, i: int) -> np.ndarray:
        """Case i's values for its own ingredients (length = its recipe size)."""
        return self.values[i, : len(self.ingredients[i])]

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per case x ingredient, with the case's prediction, baseline and
        completeness error repeated on each of its rows."""
        import pandas as pd

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
