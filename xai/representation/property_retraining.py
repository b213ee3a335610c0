"""Property retraining: does sharing a related property's task vector help a low-data property?

:mod:`xai.representation.property_substitution` answers this without retraining. Here the model is
retrained across seeds, either starting the low-data property's vector from the donor's (``init``)
or tying the two properties to one vector throughout (``tie``), and the test errors with and without
sharing are compared seed by seed. Errors are in the low-data property's original units.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from models.data import Dataset
from models.mixer import Mixer, build_mixer
from models.pipeline import evaluate, fit_model, measured_formulations
from models.splits import Split, random_split
from models.trained import TrainedModel
from models.training import Samples, TrainConfig, train
from xai.stats import Interval, t_interval, t_test_pvalue

RETRAINING_MODES = ("init", "tie")


@dataclass(frozen=True)
class RetrainingResult:
    """Test error of ``low_property`` with and without sharing ``donor``'s vector, per seed.

    ``per_seed`` rows hold, for the baseline and the variant, the test MAE and RMSE of the
    low-data property and the donor (original units). The intervals are of variant minus
    baseline across seeds (negative: sharing helps), Student-t with the Nadeau-Bengio
    correction for overlapping training sets.
    """

    low_property: str
    donor: str
    mode: str
    per_seed: list[dict]
    mae_difference: Interval
    rmse_difference: Interval
    donor_rmse_difference: Interval
    p_value: float
    verdict: str
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "low_property": self.low_property, "donor": self.donor, "mode": self.mode,
            "per_seed": [dict(r) for r in self.per_seed],
            "mae_difference": self.mae_difference.to_dict(),
            "rmse_difference": self.rmse_difference.to_dict(),
            "donor_rmse_difference": self.donor_rmse_difference.to_dict(),
            "p_value": self.p_value, "verdict": self.verdict, "settings": dict(self.settings),
        }


def property_retraining(
    dataset: Dataset,
    *,
    low_property: str,
    donor: str,
    seeds: Sequence[int],
    mode: str = "init",
    train_config: TrainConfig | None = None,
    mixer_options: dict | None = None,
    progress: bool = False,
) -> RetrainingResult:
    """Retrain with ``low_property`` sharing ``donor``'s task vector and compare test errors.

    For each seed s: a random 70/10/20 split and a model trained with seed s
    (:func:`models.pipeline.fit_model`). ``mode="init"``: two copies of that model continue
    training under the same config and seed, one unchanged (baseline) and one whose low-data
    row is first overwritten by the donor's trained vector (variant), so the arms differ only in
    where the low-data vector starts. ``mode="tie"``: the baseline is that model; the variant is
    a fresh model with the same seed whose low-data property uses the donor's vector throughout
    training and prediction (one shared vector for both).
    """
    if mode not in RETRAINING_MODES:
        raise ValueError(f"mode must be one of {RETRAINING_MODES}, not {mode!r}")
    for name in (low_property, donor):
        if name not in dataset.property_names:
            raise ValueError(f"unknown property {name!r}")
    if low_property == donor or not seeds:
        raise ValueError("need a donor other than the low-data property, and at least one seed")
    config = train_config or TrainConfig()
    per_seed, ratios = [], []
    for s in seeds:
        cfg = replace(config, seed=int(s))
        split = random_split(measured_formulations(dataset), seed=int(s))
        base = fit_model(dataset, mixer_options=mixer_options, train_config=cfg, split=split,
                         progress=progress)
        if mode == "init":
            baseline = _continued(base, dataset, split, cfg, progress)
            variant = _continued(base, dataset, split, cfg, progress, low=low_property,
                                 init_from=donor)
        else:
            baseline, variant = base, _tied(base, dataset, split, cfg, low_property, donor,
                                            progress)
        per_seed.append({"seed": int(s), "n_test": _test(baseline, low_property)["n"],
                         "baseline": _errors(baseline, low_property, donor),
                         "variant": _errors(variant, low_property, donor)})
        ratios.append(len(split.test) / max(len(split.train), 1))
    correction = float(np.mean(ratios))

    def diff(who: str, metric: str) -> np.ndarray:
        return np.array([r["variant"][who][metric] - r["baseline"][who][metric]
                         for r in per_seed])

    rmse = diff("low", "rmse")
    interval = t_interval(rmse, correction=correction)
    verdict = ("too few seeds" if not np.isfinite(interval.low)
               else "sharing lowers the error" if interval.high < 0
               else "sharing raises the error" if interval.low > 0
               else "no clear difference")
    return RetrainingResult(
        low_property=low_property, donor=donor, mode=mode, per_seed=per_seed,
        mae_difference=t_interval(diff("low", "mae"), correction=correction),
        rmse_difference=interval,
        donor_rmse_difference=t_interval(diff("donor", "rmse"), correction=correction),
        p_value=t_test_pvalue(rmse, correction=correction), verdict=verdict,
        settings={"seeds": [int(s) for s in seeds], "train_config": config.to_dict(),
                  "mixer_options": dict(mixer_options or {}), "split": "random 70/10/20",
                  "correction": correction},
    )


def _continued(
    base: TrainedModel, dataset: Dataset, split: Split, cfg: TrainConfig, progress: bool, *,
    low: str = "", init_from: str | None = None,
) -> TrainedModel:
    """A copy of ``base`` trained further; with ``init_from``, ``low``'s task vector is first
    set to ``init_from``'s."""
    mixer = copy.deepcopy(base.mixer)
    if init_from is not None:
        weight = mixer.property_embedding.weight
        with torch.no_grad():
            weight[base.encoder.property_id(low)] = weight[base.encoder.property_id(init_from)]
    return _fit(base, mixer, dataset, split, cfg, progress)


def _tied(
    base: TrainedModel, dataset: Dataset, split: Split, cfg: TrainConfig, low: str, donor: str,
    progress: bool,
) -> TrainedModel:
    """A fresh Mixer (``cfg.seed``) in which ``low`` always looks up ``donor``'s vector."""
    mixer = build_mixer(base.mixer.config, seed=cfg.seed)
    low_id, donor_id = base.encoder.property_id(low), base.encoder.property_id(donor)

    def tie(_module: torch.nn.Module, args: tuple) -> tuple:
        return (torch.where(args[0] == low_id, donor_id, args[0]),)

    mixer.property_embedding.register_forward_pre_hook(tie)
    return _fit(base, mixer, dataset, split, cfg, progress)


def _fit(
    base: TrainedModel, mixer: Mixer, dataset: Dataset, split: Split, cfg: TrainConfig,
    progress: bool,
) -> TrainedModel:
    """Train ``mixer`` on ``split`` with ``base``'s encoder and score it like fit_model does."""
    recipes = dataset.recipes()
    m = dataset.measurements

    def samples(ids: Sequence[str]) -> Samples:
        return base.samples(m[m["formulation_id"].isin(set(ids))].reset_index(drop=True),
                            recipes)

    model = TrainedModel(mixer, base.encoder, cfg, split)
    model.history = train(mixer, samples(split.train), samples(split.validation), cfg,
                          progress=progress)
    model.metrics = evaluate(model, dataset, split)
    return model


def _test(model: TrainedModel, prop: str) -> dict:
    return model.metrics["properties"][prop]["test"]


def _errors(model: TrainedModel, low: str, donor: str) -> dict:
    return {who: {"mae": _test(model, p)["mae"], "rmse": _test(model, p)["rmse"]}
            for who, p in (("low", low), ("donor", donor))}
