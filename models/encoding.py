"""Turn recipes and measurements into tensors, and back.

The encoder is fitted on the training split only and saved with the checkpoint, so a loaded model
sees its inputs exactly as the trained one did: the same vocabularies, the same amount scale and the
same per-property target transform and standardisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

PAD_ID = 0  # ingredient id 0 is padding; real ingredients start at 1


@dataclass(frozen=True)
class TargetScaler:
    """Per-property target transform (``log`` or ``identity``) followed by standardisation."""

    transform: str
    mean: float
    std: float

    def forward(self, values: np.ndarray) -> np.ndarray:
        """Original units -> standardised model units."""
        values = np.asarray(values, dtype=np.float64)
        if self.transform == "log":
            values = np.log(values)
        return (values - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Standardised model units -> original units."""
        values = np.asarray(z, dtype=np.float64) * self.std + self.mean
        return np.exp(values) if self.transform == "log" else values


@dataclass(frozen=True)
class RecipeTensors:
    """A padded block of recipes.

    ``ids`` (N, T) ingredient ids with 0 for padding, ``amounts`` (N, T) normalised amounts,
    ``mask`` (N, T) True where an ingredient is present.
    """

    ids: torch.Tensor
    amounts: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return self.ids.shape[0]

    def take(self, index: torch.Tensor | np.ndarray) -> RecipeTensors:
        """Rows ``index``, trimmed to the longest recipe among them."""
        index = torch.as_tensor(index, dtype=torch.long)
        mask = self.mask[index]
        width = max(int(mask.sum(1).max()) if len(index) else 1, 1)
        return RecipeTensors(self.ids[index, :width], self.amounts[index, :width], mask[:, :width])


@dataclass(frozen=True)
class Encoder:
    """Vocabularies, amount scale and target scalers of one trained model."""

    ingredients: tuple[str, ...]
    properties: tuple[str, ...]
    amount_scale: float
    scalers: dict[str, TargetScaler]
    max_ingredients: int

    @classmethod
    def fit(
        cls,
        recipes: dict[str, tuple[list[str], np.ndarray]],
        measurements: Sequence[tuple[str, str, float]],
        transforms: dict[str, str],
        *,
        max_ingredients: int,
        ingredients: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
    ) -> Encoder:
        """Fit on training recipes and measurements ``(formulation_id, property, value)``.

        ``ingredients`` / ``properties`` fix the vocabularies (default: all seen in ``recipes`` /
        ``measurements``); a property without training measurements keeps mean 0 and std 1.
        The amount scale is the median recipe total, so a wt% recipe maps to fractions of 1.
        """
        seen = {c for codes, _ in recipes.values() for c in codes}
        ingredient_names = tuple(sorted(ingredients or seen))
        property_names = tuple(sorted(properties or {p for _, p, _ in measurements}))
        totals = [float(np.sum(amounts)) for _, amounts in recipes.values()]
        amount_scale = float(np.median(totals)) if totals else 1.0
        by_property: dict[str, list[float]] = {p: [] for p in property_names}
        for _, prop, value in measurements:
            by_property[prop].append(value)
        scalers = {}
        for prop in property_names:
            transform = transforms.get(prop, "identity") or "identity"
            values = np.asarray(by_property[prop], dtype=np.float64)
            if transform == "log":
                if np.any(values <= 0):
                    raise ValueError(f"property {prop!r} has a log transform but values <= 0")
                values = np.log(values)
            mean = float(values.mean()) if len(values) else 0.0
            std = float(values.std()) if len(values) > 1 else 1.0
            scalers[prop] = TargetScaler(transform, mean, std if std > 0 else 1.0)
        return cls(ingredient_names, property_names, amount_scale if amount_scale > 0 else 1.0,
                   scalers, max_ingredients)

    @property
    def n_ingredient_ids(self) -> int:
        """Rows of the ingredient embedding table (padding included)."""
        return len(self.ingredients) + 1

    def ingredient_id(self, name: str) -> int:
        return self._ingredient_index[name]

    def property_id(self, name: str) -> int:
        return self._property_index[name]

    @property
    def _ingredient_index(self) -> dict[str, int]:
        cached = self.__dict__.get("_ing_index")
        if cached is None:
            cached = {name: i + 1 for i, name in enumerate(self.ingredients)}
            object.__setattr__(self, "_ing_index", cached)
        return cached

    @property
    def _property_index(self) -> dict[str, int]:
        cached = self.__dict__.get("_prop_index")
        if cached is None:
            cached = {name: i for i, name in enumerate(self.properties)}
            object.__setattr__(self, "_prop_index", cached)
        return cached

    def unknown_ingredients(self, codes: Sequence[str]) -> list[str]:
        return sorted({c for c in codes if c not in self._ingredient_index})

    def encode_recipes(self, recipes: Sequence[tuple[Sequence[str], np.ndarray]]) -> RecipeTensors:
        """Pad recipes ``(codes, amounts)`` to the longest one; raises on unknown ingredients."""
        width = max([len(codes) for codes, _ in recipes] + [1])
        ids = np.zeros((len(recipes), width), dtype=np.int64)
        amounts = np.zeros((len(recipes), width), dtype=np.float32)
        index = self._ingredient_index
        for row, (codes, amount) in enumerate(recipes):
            try:
                ids[row, : len(codes)] = [index[c] for c in codes]
            except KeyError as err:
                raise ValueError(
                    f"ingredient {err.args[0]!r} was not seen in training; the model has no "
                    "vector for it (retrain with it, or leave it out)"
                ) from None
            amounts[row, : len(codes)] = np.asarray(amount, dtype=np.float64) / self.amount_scale
        ids_t = torch.from_numpy(ids)
        return RecipeTensors(ids_t, torch.from_numpy(amounts), ids_t != PAD_ID)

    def to_standard(self, properties: Sequence[str], values: np.ndarray) -> np.ndarray:
        """Original units -> model units, property by property."""
        return self._apply(properties, values, "forward")

    def from_standard(self, properties: Sequence[str], z: np.ndarray) -> np.ndarray:
        """Model units -> original units, property by property."""
        return self._apply(properties, z, "inverse")

    def _apply(self, properties: Sequence[str], values: np.ndarray, how: str) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        out = np.empty_like(values)
        properties = np.asarray(properties, dtype=object)
        for prop in set(properties.tolist()):
            rows = properties == prop
            out[rows] = getattr(self.scalers[prop], how)(values[rows])
        return out

    def to_dict(self) -> dict:
        return {
            "ingredients": list(self.ingredients),
            "properties": list(self.properties),
            "amount_scale": self.amount_scale,
            "max_ingredients": self.max_ingredients,
            "scalers": {p: vars(s) for p, s in self.scalers.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Encoder:
        return cls(
            ingredients=tuple(data["ingredients"]),
            properties=tuple(data["properties"]),
            amount_scale=float(data["amount_scale"]),
            scalers={p: TargetScaler(**s) for p, s in data["scalers"].items()},
            max_ingredients=int(data["max_ingredients"]),
        )
