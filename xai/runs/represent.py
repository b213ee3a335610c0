"""The representation analysis behind ``xai represent``.

What did the model's embedding tables learn? :class:`~xai.hypotheses.context.AnalysisContext`
computes, lazily and once, the pieces the hypotheses share: the geometry of the ingredient and
property tables, their agreement with expert groups, the substitution experiments on the recipes
analysed (the model's test split by default) and the attention summary. :func:`represent` evaluates
the hypotheses on it and adds the Mantel test against an expert distance table
(``ingredient_distances.csv``, when the dataset has one), the learning dynamics (when training kept
snapshots) and, on synthetic data with a ``truth.json``, how well the embeddings recover the true
families and property groups and whether the substitution findings follow the true ingredient
effects.

Predictions, changes and attributions are in model units: the property's standardised units,
after the log transform where the property has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.data import Dataset
from models.expert_distances import read_expert_distances
from models.trained import TrainedModel
from xai.attention.maps import AttentionSummary
from xai.hypotheses.builtins import BUILTIN
from xai.hypotheses.context import AnalysisContext, Settings
from xai.hypotheses.registry import Registry, Verdict
from xai.representation.dynamics import Dynamics, learning_dynamics
from xai.representation.embeddings import Geometry
from xai.representation.expert_agreement import (
    GroupAgreement,
    MantelTest,
    expert_distance_matrix,
    mantel,
)
from xai.representation.property_substitution import PropertySubstitution
from xai.representation.substitution import IngredientSubstitution
from xai.truth.hypotheses import compare, expected_verdicts
from xai.truth.representation_scores import substitution_truth, truth_scores

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RepresentResult:
    """Everything :func:`represent` found; ``to_dict`` is JSON-ready (NaN where undefined)."""

    ingredients: Geometry
    properties: Geometry
    ingredient_agreement: GroupAgreement | None
    property_agreement: GroupAgreement | None
    mantel: MantelTest | None
    dynamics: Dynamics
    verdicts: list[Verdict]
    truth: dict | None
    substitution: IngredientSubstitution | None
    property_substitution: PropertySubstitution | None
    attention: AttentionSummary | None
    settings: dict

    def to_dict(self) -> dict:
        def maybe(x):
            return None if x is None else x.to_dict()

        return {
            "units": "distances in the embedding tables' own units; predictions and changes in "
                     "model units (standardised, after any log transform) unless named original",
            "settings": self.settings,
            "ingredients": {"geometry": self.ingredients.to_dict(),
                            "agreement": maybe(self.ingredient_agreement),
                            "mantel": maybe(self.mantel)},
            "properties": {"geometry": self.properties.to_dict(),
                           "agreement": maybe(self.property_agreement)},
            "dynamics": self.dynamics.to_dict(),
            "hypotheses": [v.to_dict() for v in self.verdicts],
            "truth": self.truth,
            "substitution": maybe(self.substitution),
            "property_substitution": maybe(self.property_substitution),
            "attention": maybe(self.attention),
        }

    def to_frame(self) -> pd.DataFrame:
        """The hypotheses' verdicts, one row per hypothesis (``name``, ``statement``,
        ``verdict``, ``statistic``, ``p_value``, ``adjusted_p``, ``effect_size``,
        ``interval_low``, ``interval_high``). The parts have their own tables:
        ``ingredients.to_frame()``, ``substitution.to_frame()``, ``dynamics.to_frame()`` ..."""
        import pandas as pd

        rows = []
        for v in self.verdicts:
            low, high = v.interval if v.interval is not None else (None, None)
            rows.append({"name": v.name, "statement": v.statement, "verdict": v.verdict,
                         "statistic": v.statistic, "p_value": v.p_value,
                         "adjusted_p": v.adjusted_p, "effect_size": v.effect_size,
                         "interval_low": low, "interval_high": high})
        return pd.DataFrame(rows, columns=["name", "statement", "verdict", "statistic",
                                           "p_value", "adjusted_p", "effect_size",
                                           "interval_low", "interval_high"])


def represent(
    model: TrainedModel,
    dataset: Dataset,
    *,
    formulation_ids: Sequence[str] | None = None,
    settings: Settings | None = None,
    registry: Registry = BUILTIN,
    hypotheses: Sequence[str] | None = None,
    correction: str = "holm",
    seed: int = 0,
    progress: bool = False,
) -> RepresentResult:
    """Run the representation analysis of ``model`` on ``dataset``.

    Parameters
    ----------
    formulation_ids : recipes for the substitution, attention and trend analyses (default: the
        model's test split).
    settings : analysis options (:class:`Settings`).
    registry, hypotheses : which hypotheses to test (default: every one in ``registry``).
    correction : ``holm`` or ``bh``, across the hypotheses' p-values.
    seed : seeds the layouts, permutation tests, bootstraps and random donors.
    """
    settings = settings or Settings()
    context = AnalysisContext(model, dataset, formulation_ids=formulation_ids, settings=settings,
                              seed=seed, progress=progress)
    verdicts = registry.evaluate(context, hypotheses, correction=correction)
    ingredients, properties = context.ingredient_geometry, context.property_geometry
    distances = read_expert_distances(dataset.root)
    expert = None
    if distances:
        names, matrix = expert_distance_matrix(distances, ingredients.names)
        if len(names) >= 3:
            rows = [ingredients.names.index(n) for n in names]
            expert = mantel(matrix, ingredients.distances()[np.ix_(rows, rows)],
                            n_permutations=settings.n_permutations, seed=seed)
    snapshots = getattr(model.history, "snapshots", [])
    frequent = {n for n, rare in zip(ingredients.names, ingredients.rare, strict=True) if not rare}
    dynamics = learning_dynamics(snapshots, ingredient_names=model.encoder.ingredients,
                                 property_names=model.encoder.properties,
                                 ingredient_groups={n: g for n, g in
                                                    dataset.ingredient_groups().items()
                                                    if n in frequent},
                                 property_groups=dataset.property_groups(),
                                 metric=settings.metric)

    def cached(name):
        return getattr(context, name) if context.computed(name) else None

    substitution = cached("ingredient_substitution")
    truth = None
    if dataset.truth:
        truth = truth_scores(dataset.truth, ingredients, properties)
        if substitution is not None:
            truth["substitution"] = substitution_truth(
                dataset.truth, substitution, model, dataset, context.formulation_ids)
        truth["hypotheses"] = compare(verdicts, expected_verdicts(dataset.truth,
                                                                  settings.slope_band))
    return RepresentResult(
        ingredients=ingredients,
        properties=properties,
        ingredient_agreement=context.ingredient_agreement,
        property_agreement=context.property_agreement,
        mantel=expert,
        dynamics=dynamics,
        verdicts=verdicts,
        truth=truth,
        substitution=substitution,
        property_substitution=cached("property_substitution"),
        attention=cached("attention"),
        settings={**asdict(settings), "seed": seed, "correction": correction,
                  "n_formulations": len(context.formulation_ids)},
    )
