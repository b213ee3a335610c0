"""What the representation hypotheses read: the analysis settings and a lazy, cached context.

:class:`AnalysisContext` computes, once and only when a hypothesis asks, the geometry of the
ingredient and property tables, their agreement with expert groups, the substitution experiments
on the recipes analysed (the model's test split by default), the attention summary and the
predictions along ordered property series (:func:`ordered_series`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from models.data import Dataset
from xai.attention.maps import AttentionSummary, attention_summary
from xai.cases import make_cases
from xai.hypotheses.settings import Settings
from xai.representation.embeddings import Geometry, embedding_geometry, training_counts
from xai.representation.expert_agreement import GroupAgreement, group_agreement
from xai.representation.property_substitution import PropertySubstitution, property_substitution
from xai.representation.substitution import IngredientSubstitution, ingredient_substitution


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
        """Per ordered series (see :func:`ordered_series`): its properties,
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


def ordered_series(orders: dict[str, float], groups: dict[str, str]) -> list[dict]:
    """Series of properties ordered by a measurement condition (``properties.csv`` ``order``).

    Properties of one group whose names differ only in the order value (``viscosity_4pin_5rpm``,
    ``viscosity_4pin_10rpm``) form a series; the last number in a name equal to its order is the
    one left out. Series with fewer than two properties or a repeated order are dropped.
    """
    series: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for prop, order in orders.items():
        series.setdefault((groups.get(prop, ""), _series_key(prop, order)), []).append(
            (order, prop))
    out = []
    for (group, key), members in sorted(series.items()):
        members.sort()
        values = [o for o, _ in members]
        if len(members) >= 2 and len(set(values)) == len(values):
            out.append({"group": group, "series": key, "properties": [p for _, p in members],
                        "orders": values})
    return out


def _series_key(name: str, order: float) -> str:
    text = f"{order:g}"
    hits = list(re.finditer(rf"(?<![\d.]){re.escape(text)}(?![\d.])", name))
    if not hits:
        return "*"  # the order is not in the name: the whole group is one series
    h = hits[-1]
    return name[:h.start()] + "*" + name[h.end():]


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)
