"""Ablations: which design choices of the Mixer matter, each judged on the same folds.

A variant changes one thing relative to the default configuration: how amounts enter the
tokens (``amount_encoding=concat`` / ``fourier``), LayerNorm (``layer_norm=true``), the code
activation (``code_activation=tanh``), or a frequency cut of rare ingredients
(``rare_cut=1`` / ``rare_cut=2``, see :func:`models.rare_ingredients.cut_rare_ingredients`). Every
variant is trained on the same cross-validation splits with the same seeds as the default, and its
test RMSE is compared with the default's, paired over the splits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

from models.choices import DEFAULT_VARIANTS, RARE_MODES
from models.cv import cv_splits
from models.data import Dataset
from models.experiments import (
    MIXER,
    Task,
    holdout_ratio,
    paired_difference,
    relative_rmse,
    run_tasks,
    summarise,
)
from models.mixer import MixerConfig
from models.pipeline import measured_formulations
from models.training import TrainConfig

DEFAULT = "default"
_MIXER_KEYS = {f.name for f in fields(MixerConfig)} - {"n_ingredients", "n_properties"}
VERDICTS = {"a lower": "variant better", "b lower": "default better"}


@dataclass(frozen=True)
class Variant:
    """A named change to the default: Mixer options and an optional rare-ingredient cut."""

    name: str
    mixer_options: dict = field(default_factory=dict)
    rare_cut: int = 0


def parse_variant(text: str) -> Variant:
    """``"default"`` or ``"key=value"`` with a :class:`MixerConfig` field or ``rare_cut``.

    Values read as booleans (``true/false/on/off``), integers, floats, else strings, and are
    checked by building a config, so a typo fails before any training.
    """
    text = text.strip()
    if text == DEFAULT:
        return Variant(DEFAULT)
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise ValueError(f"a variant is 'default' or 'key=value', got {text!r}")
    value = _parse_value(raw)
    if key == "rare_cut":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"rare_cut must be a positive integer, got {raw!r}")
        return Variant(f"rare_cut={value}", rare_cut=value)
    if key not in _MIXER_KEYS:
        raise ValueError(f"unknown variant key {key!r}; use rare_cut or one of "
                         f"{sorted(_MIXER_KEYS)}")
    MixerConfig(n_ingredients=2, n_properties=1, **{key: value})
    return Variant(f"{key}={str(value).lower() if isinstance(value, bool) else value}",
                   mixer_options={key: value})


def _parse_value(raw: str):
    lowered = raw.lower()
    if lowered in ("true", "on", "yes"):
        return True
    if lowered in ("false", "off", "no"):
        return False
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def ablation(
    dataset: Dataset,
    *,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    method: str = "kfold",
    folds: int = 5,
    seeds: int = 1,
    seed: int = 0,
    mixer_options: dict | None = None,
    train_config: TrainConfig | None = None,
    rare_mode: str = "merge",
    confidence: float = 0.95,
    jobs: int = 1,
    progress: bool = True,
) -> dict:
    """Cross-validate the default and each variant on the same splits; compare each with the
    default, paired over splits (difference = variant - default; negative: the variant has
    the lower error).

    ``mixer_options`` / ``train_config`` define the default; a variant overrides one option.

    Returns
    -------
    dict (JSON-able): ``variants`` (names, default first), ``records`` (one per split and
    variant, labelled), ``properties[p]`` with per-split ``rmse`` lists per variant and the
    ``comparison`` of each variant with the default, and ``overall``: the same on the mean
    relative RMSE over properties.
    """
    if rare_mode not in RARE_MODES:
        raise ValueError(f"rare_mode must be one of {RARE_MODES}, not {rare_mode!r}")
    parsed = [Variant(DEFAULT)] + [parse_variant(v) for v in variants if v.strip() != DEFAULT]
    names = [v.name for v in parsed]
    if len(set(names)) != len(names):
        raise ValueError(f"variants repeat: {names}")
    train_config = train_config or TrainConfig()
    base = dict(mixer_options or {})
    splits = cv_splits(measured_formulations(dataset), method=method, folds=folds, seeds=seeds,
                       seed=seed)
    tasks = [
        Task(split=split, mixer_options={**base, **v.mixer_options},
             train_config=replace(train_config, seed=train_config.seed + labels["repeat"]),
             baselines=(), rare_cut=v.rare_cut, rare_mode=rare_mode,
             labels={**labels, "split": i, "variant": v.name})
        for i, (labels, split) in enumerate(splits) for v in parsed
    ]
    records = run_tasks(dataset, tasks, jobs=jobs, progress=progress, desc="ablation")
    # by_split[i][variant] is that variant's Mixer record on split i.
    by_split = [{r["labels"]["variant"]: r for r in records if r["labels"]["split"] == i}
                for i in range(len(splits))]
    ratio = holdout_ratio(records) if records else None
    props = sorted({p for r in records for p in r["models"][MIXER]})
    properties = {}
    for prop in props:
        rmse = {name: [_rmse(row[name], prop) for row in by_split] for name in names}
        properties[prop] = {
            "rmse": rmse,
            "summary": {name: summarise(v) for name, v in rmse.items()},
            "comparison": {name: _compare(rmse[name], rmse[DEFAULT], ratio, confidence)
                           for name in names[1:]},
        }
    overall = {name: [relative_rmse(row[name], MIXER) for row in by_split] for name in names}
    return {
        "kind": "ablation",
        "method": method,
        "folds": folds if method == "kfold" else None,
        "seeds": seeds,
        "seed": seed,
        "confidence": confidence,
        "rare_mode": rare_mode,
        "units": "test RMSE in original units; relative RMSE = RMSE / mean-predictor RMSE",
        "mixer_options": base,
        "train_config": train_config.to_dict(),
        "variants": names,
        "variant_options": {v.name: {**v.mixer_options, **({"rare_cut": v.rare_cut}
                                                           if v.rare_cut else {})}
                            for v in parsed},
        "records": records,
        "properties": properties,
        "overall": {
            "metric": "relative_rmse",
            "relative_rmse": overall,
            "summary": {name: summarise(v) for name, v in overall.items()},
            "comparison": {name: _compare(overall[name], overall[DEFAULT], ratio, confidence)
                           for name in names[1:]},
        },
    }


def _rmse(record: dict, prop: str) -> float:
    entry = record["models"][MIXER].get(prop)
    value = entry.get("rmse") if entry else None
    return float(value) if value is not None and math.isfinite(value) else math.nan


def _compare(variant: list[float], default: list[float], ratio: float | None,
             confidence: float) -> dict:
    diff = paired_difference(variant, default, confidence=confidence, test_train_ratio=ratio)
    return {**diff, "difference": "variant - default (negative: the variant has the lower error)",
            "verdict": VERDICTS.get(diff["verdict"], diff["verdict"])}
