"""The representation analysis behind ``xai represent``.

What did the model's embedding tables learn? :class:`AnalysisContext` computes, lazily and once,
the pieces the hypotheses share: the geometry of the ingredient and property tables, their
agreement with expert groups, the substitution experiments on the recipes analysed (the model's
test split by default) and the attention summary. :func:`represent` evaluates the hypotheses on
it and adds the Mantel test against an expert distance table (``ingredient_distances.csv``, when
the dataset has one), the learning dynamics (when training kept snapshots) and, on synthetic data
with a ``truth.json``, how well the embeddings recover the true families and property groups and
whether the substitution findings follow the true ingredient effects.

Predictions, changes and attributions are in model units: the property's standardised units,
after the log transform where the property has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

from models.data import Dataset
from models.expert_distances import read_expert_distances
from models.trained import TrainedModel
from xai.agreement import (
    GroupAgreement,
    MantelTest,
    expert_distance_matrix,
    group_agreement,
    mantel,
)
from xai.attention import AttentionSummary, attention_summary
from xai.builtin_hypotheses import BUILTIN
from xai.cases import make_cases
from xai.dynamics import Dynamics, learning_dynamics
from xai.embeddings import Geometry, embedding_geometry, training_counts
from xai.hypotheses import Registry, Verdict, ordered_series
from xai.hypothesis_truth import compare, expected_verdicts
from xai.property_substitution import PropertySubstitution, property_substitution
from xai.representation_truth import substitution_truth, truth_scores
from xai.substitution import IngredientSubstitution, ingredient_substitution


@dataclass(frozen=True)
class Settings:
    """Options of the representation analysis and its hypotheses."""

    alpha: float = 0.05
    metric: str = "cosine"
    linkage: str = "average"
    rare_threshold: int = 5
    layout: str | None = "auto"
    n_permutations: int = 999
    knn: int = 5
    n_bootstrap: int = 2000
    n_random: int = 20
    low_data_threshold: int = 100
    attention_threshold: float = 0.1
    monotonic_share: float = 0.9
    slope_band: tuple[float, float] = (-1.25, -0.75)
    slope_transform: str = "log"


class AnalysisContext:
    """Lazy, cached access to everything the hypotheses read.

    ``model`` is a :class:`~models.trained.TrainedModel` (or, for hypotheses that only predict,
    any object with ``properties`` and ``predict(recipes, properties)`` in original units);
    ``formulation_ids`` are the recipes experiments run on (default: the model's test split).
    """

    def __init__(self, model, dataset: Dataset, *, formulation_ids: Sequence[str] | None = None,
                 settings: Settings | None = None, seed: int = 0, progress: bool = False) -> None:
        split = getattr(model, "split", None)
        if formulation_ids is None:
            if split is None:
                raise ValueError("the model has no split; pass formulation_ids")
            formulation_ids = split.test
        self.model = model
        self.dataset = dataset
        self.formulation_ids = list(formulation_ids)
        self.settings = settings or Settings()
        self.seed = seed
        self.progress = progress

    def computed(self, name: str) -> bool:
        """Whether the cached result ``name`` has been computed."""
        return name in self.__dict__

    @cached_property
    def ingredient_counts(self) -> np.ndarray:
        """(n_ingredients,) training recipes holding each ingredient of the vocabulary."""
        recipes = self.dataset.recipes()
        split = getattr(self.model, "split", None)
        ids = split.train if split is not None else list(recipes)
        return training_counts((recipes[f][0] for f in ids if f in recipes),
                               self.model.encoder.ingredients)

    @cached_property
    def ingredient_geometry(self) -> Geometry:
        s = self.settings
        return embedding_geometry(_array(self.model.mixer.ingredient_table()),
                                  self.model.encoder.ingredients, seed=self.seed, metric=s.metric,
                                  linkage_method=s.linkage, counts=self.ingredient_counts,
                                  rare_threshold=s.rare_threshold, layout=s.layout)

    @cached_property
    def property_geometry(self) -> Geometry:
        s = self.settings
        return embedding_geometry(_array(self.model.mixer.property_table()),
                                  self.model.encoder.properties, seed=self.seed, metric=s.metric,
                                  linkage_method=s.linkage, layout=s.layout)

    @cached_property
    def ingredient_agreement(self) -> GroupAgreement | None:
        """Agreement with ``ingredients.csv`` groups over the ingredients that are not rare
        (a rare ingredient's vector is mostly its initialisation)."""
        g = self.ingredient_geometry
        frequent = {n for n, rare in zip(g.names, g.rare, strict=True) if not rare}
        return self._agreement(g, {n: grp for n, grp in self.dataset.ingredient_groups().items()
                                   if n in frequent})

    @cached_property
    def property_agreement(self) -> GroupAgreement | None:
        return self._agreement(self.property_geometry, self.dataset.property_groups())

    def _agreement(self, g: Geometry, groups: dict[str, str]) -> GroupAgreement | None:
        s = self.settings
        return group_agreement(g.distances(), g.clusters.labels, g.names, groups, k=s.knn,
                               n_permutations=s.n_permutations, seed=self.seed)

    @cached_property
    def ingredient_substitution(self) -> IngredientSubstitution:
        s = self.settings
        return ingredient_substitution(self.model, self.dataset, self.formulation_ids,
                                       n_random=s.n_random, n_bootstrap=s.n_bootstrap,
                                       seed=self.seed, progress=self.progress)

    @cached_property
    def property_substitution(self) -> PropertySubstitution:
        s = self.settings
        return property_substitution(self.model, self.dataset, self.formulation_ids,
                                     low_data_threshold=s.low_data_threshold,
                                     n_bootstrap=s.n_bootstrap, seed=self.seed)

    @cached_property
    def attention(self) -> AttentionSummary:
        cases = make_cases(self.model, self.dataset, self.formulation_ids)
        return attention_summary(self.model.mixer, cases,
                                 threshold=self.settings.attention_threshold)

    @cached_property
    def trends(self) -> list[dict]:
        """Per ordered series (see :func:`~xai.hypotheses.ordered_series`): its properties,
        orders and predictions (N recipes, k properties) in original units."""
        series = ordered_series(self.dataset.property_orders(), self.dataset.property_groups())
        recipes = self.dataset.recipes()
        chosen = [recipes[f] for f in self.formulation_ids]
        out = []
        for s in series:
            props = [p for p in s["properties"] if p in self.model.properties]
            if len(props) < 2 or not chosen:
                continue
            orders = [s["orders"][s["properties"].index(p)] for p in props]
            flat = self.model.predict(chosen * len(props), [p for p in props for _ in chosen])
            predictions = np.asarray(flat, dtype=np.float64).reshape(len(props), len(chosen)).T
            out.append({**s, "properties": props, "orders": orders, "predictions": predictions})
        return out


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


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)
