"""A trained Mixer together with everything needed to use it on new recipes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from models.encoding import Encoder
from models.mixer import Mixer
from models.splits import Split
from models.training import History, Samples, TrainConfig, predict_samples


@dataclass
class TrainedModel:
    """The Mixer, its encoder, and how it was trained and how well it did."""

    mixer: Mixer
    encoder: Encoder
    train_config: TrainConfig
    split: Split | None = None
    metrics: dict = field(default_factory=dict)
    history: History = field(default_factory=History)
    provenance: dict = field(default_factory=dict)
    # models.ensemble.Ensemble: cross-fitted members beside the analysed model, or None
    ensemble: object | None = None
    # models.conformal.Conformal and models.applicability.Domain (see models.calibration)
    conformal: object | None = None
    domain: object | None = None

    @property
    def properties(self) -> tuple[str, ...]:
        return self.encoder.properties

    def samples(
        self, measurements: pd.DataFrame, recipes: dict[str, tuple[list[str], np.ndarray]]
    ) -> Samples:
        """Encode measurement rows ``(formulation_id, property, value)`` over their recipes.

        ``value`` may be NaN (prediction only); targets are then NaN too.
        """
        ids = list(dict.fromkeys(measurements["formulation_id"].tolist()))
        position = {fid: i for i, fid in enumerate(ids)}
        block = self.encoder.encode_recipes([recipes[fid] for fid in ids])
        props = measurements["property"].tolist()
        targets = self.encoder.to_standard(props, measurements["value"].to_numpy(np.float64))
        return Samples(
            recipes=block,
            recipe_index=torch.tensor([position[f] for f in measurements["formulation_id"]],
                                      dtype=torch.long),
            property_ids=torch.tensor([self.encoder.property_id(p) for p in props],
                                      dtype=torch.long),
            targets=torch.as_tensor(targets, dtype=torch.float32),
        )

    def predict(
        self,
        recipes: Sequence[tuple[Sequence[str], np.ndarray]],
        properties: Sequence[str],
        *,
        standardised: bool = False,
    ) -> np.ndarray:
        """Predict ``properties[i]`` for ``recipes[i]``; original units unless ``standardised``."""
        frame = pd.DataFrame({
            "formulation_id": [str(i) for i in range(len(recipes))],
            "property": list(properties),
            "value": np.nan,
        })
        unknown = sorted(set(properties) - set(self.encoder.properties))
        if unknown:
            raise ValueError(f"the model was not trained on properties {unknown}; "
                             f"it knows {list(self.encoder.properties)}")
        samples = self.samples(frame, {str(i): r for i, r in enumerate(recipes)})
        z = predict_samples(self.mixer, samples)
        return z if standardised else self.encoder.from_standard(list(properties), z)
