"""Hypotheses: registry, corrections, the trend tests on toy models, and group closeness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from models.data import Dataset
from models.encoding import Encoder, TargetScaler
from models.io import to_jsonable
from models.mixer import MixerConfig, build_mixer
from models.trained import TrainedModel
from models.training import TrainConfig
from xai.hypotheses.builtins import BUILTIN
from xai.hypotheses.context import AnalysisContext, Settings, ordered_series
from xai.hypotheses.registry import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Inconclusive,
    Registry,
    Verdict,
    monotonic_test,
)

RPMS = (5, 10, 20)
VISCOSITY = [f"viscosity_{pin}_{rpm}rpm" for pin in ("4pin", "6pin") for rpm in RPMS]


def toy_dataset(n: int = 40, seed: int = 0, groups: dict | None = None) -> Dataset:
    rng = np.random.default_rng(seed)
    codes = [f"C{i}" for i in range(12)]
    rows = [(f"F{i}", c, float(rng.uniform(1, 10)))
            for i in range(n) for c in rng.choice(codes, size=4, replace=False)]
    formulations = pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"])
    measurements = pd.DataFrame({"formulation_id": [f"F{i}" for i in range(n)],
                                 "property": "ph", "value": 7.0})
    properties = pd.DataFrame({
        "property": [*VISCOSITY, "ph"],
        "group": ["viscosity"] * 6 + ["ph"],
        "transform": ["log"] * 6 + ["identity"],
        "order": [float(r) for _ in range(2) for r in RPMS] + [np.nan],
    })
    ingredients = None if groups is None else pd.DataFrame(
        {"ingredient": list(groups), "group": list(groups.values()), "name": ""})
    return Dataset(root=Path("."), formulations=formulations, measurements=measurements,
                   properties=properties, ingredients=ingredients)


class ToyModel:
    """Predicts base(recipe) * g(rpm): ``shape`` "halve" (1/rpm), "flat", "sqrt" (rpm^-0.5) or
    "peak" (highest at 10 rpm)."""

    properties = (*VISCOSITY, "ph")

    def __init__(self, shape: str) -> None:
        self.shape = shape

    def predict(self, recipes, properties, *, standardised=False):
        base = np.array([1000.0 + 100.0 * float(np.sum(a)) for _, a in recipes])
        rpm = np.array([float(p.split("_")[-1][:-3]) if p.startswith("visc") else 1.0
                        for p in properties])
        factor = {"halve": 5.0 / rpm, "flat": np.ones_like(rpm), "sqrt": (5.0 / rpm) ** 0.5,
                  "peak": np.where(rpm == 10, 2.0, 1.0) + 0 * rpm}[self.shape]
        return base * factor


def run(shape: str, names=("trend_monotonic", "shear_thinning_slope")):
    data = toy_dataset()
    context = AnalysisContext(ToyModel(shape), data, formulation_ids=data.formulation_ids,
                                settings=Settings(n_bootstrap=500))
    return {v.name: v for v in BUILTIN.evaluate(context, names)}


def test_ordered_series_splits_spindles():
    data = toy_dataset()
    series = ordered_series(data.property_orders(), data.property_groups())
    assert [s["series"] for s in series] == ["viscosity_4pin_*rpm", "viscosity_6pin_*rpm"]
    assert series[0]["properties"] == VISCOSITY[:3]
    assert series[0]["orders"] == [5.0, 10.0, 20.0]
    # a property named without its order joins its group's one series; repeated orders drop it
    assert ordered_series({"age_a": 7.0, "age_b": 30.0}, {})[0]["properties"] == ["age_a",
                                                                                  "age_b"]
    assert ordered_series({"x_a": 1.0, "x_b": 1.0}, {}) == []


def test_trend_supported_on_model_that_halves_with_rpm():
    v = run("halve")
    mono, slope = v["trend_monotonic"], v["shear_thinning_slope"]
    assert mono.verdict == SUPPORTED
    assert mono.statistic == 1.0 and mono.evidence["n"] == 80
    assert mono.evidence["series"][0]["direction"] == "decreasing"
    assert mono.adjusted_p is not None and mono.adjusted_p < 1e-10
    assert slope.verdict == SUPPORTED
    assert slope.statistic == pytest.approx(-1.0)
    assert slope.p_value is None and slope.adjusted_p is None


def test_trend_rejected_on_model_that_ignores_rpm():
    v = run("flat")
    assert v["trend_monotonic"].verdict == NOT_SUPPORTED
    assert v["trend_monotonic"].statistic == 0.0
    assert v["shear_thinning_slope"].verdict == NOT_SUPPORTED
    assert v["shear_thinning_slope"].statistic == pytest.approx(0.0, abs=1e-12)


def test_trend_non_monotonic_and_wrong_slope():
    assert run("peak")["trend_monotonic"].verdict == NOT_SUPPORTED
    v = run("sqrt")
    assert v["trend_monotonic"].verdict == SUPPORTED  # monotonic, but thins too little
    assert v["shear_thinning_slope"].verdict == NOT_SUPPORTED
    assert v["shear_thinning_slope"].statistic == pytest.approx(-0.5)


def test_monotonic_test_against_chance():
    rng = np.random.default_rng(0)
    random_order = rng.normal(size=(300, 3))
    v = monotonic_test([random_order], required_share=0.9, alpha=0.05)
    assert v.verdict == NOT_SUPPORTED
    assert v.statistic == pytest.approx(1 / 6, abs=0.06)  # one fixed direction of 3! orders
    assert v.p_value > 0.01


def test_registry_register_evaluate_and_holm():
    registry = BUILTIN.copy()
    assert "trend_monotonic" in registry and len(registry) == len(BUILTIN) == 7

    @registry.register("strong", "a strong effect")
    def strong(context):
        return Verdict(SUPPORTED, statistic=1.0, p_value=0.001)

    @registry.register("weak", "a weak effect")
    def weak(context):
        return Verdict(SUPPORTED, statistic=1.0, p_value=0.03)

    @registry.register("untestable", "needs data we lack")
    def untestable(context):
        raise Inconclusive("no data")

    assert strong(None).p_value == 0.001  # the decorator returns the function unchanged
    data = toy_dataset()
    context = AnalysisContext(ToyModel("halve"), data, formulation_ids=data.formulation_ids)
    out = {v.name: v for v in registry.evaluate(context, ["strong", "weak", "untestable"])}
    assert out["strong"].verdict == SUPPORTED and out["strong"].adjusted_p == pytest.approx(0.002)
    assert out["weak"].adjusted_p == pytest.approx(0.03)  # Holm: max(0.03 * 1, 0.001 * 2)
    assert out["weak"].verdict == SUPPORTED
    assert out["untestable"].verdict == INCONCLUSIVE and out["untestable"].note == "no data"
    assert out["strong"].statement == "a strong effect"
    json.dumps([v.to_dict() for v in out.values()], default=to_jsonable)


def test_holm_can_overturn_a_verdict():
    registry = Registry()
    for i in range(3):
        registry.register(f"h{i}", "borderline")(
            lambda context: Verdict(SUPPORTED, statistic=0.0, p_value=0.03))
    data = toy_dataset()
    context = AnalysisContext(ToyModel("flat"), data, formulation_ids=data.formulation_ids)
    out = registry.evaluate(context)
    assert all(v.verdict == NOT_SUPPORTED and v.adjusted_p == pytest.approx(0.09) for v in out)
    assert "holm" in out[0].note


def test_builtin_registry_is_read_only():
    with pytest.raises(RuntimeError, match="read-only"):
        BUILTIN.register("x", "y")(lambda context: None)
    with pytest.raises(ValueError, match="already"):
        BUILTIN.copy().register("trend_monotonic", "again")(lambda context: None)


def tiny_trained(planted: bool) -> TrainedModel:
    """A 12-ingredient Mixer whose ingredient vectors sit in three tight groups of four
    (``planted``) or are random."""
    names = tuple(f"C{i}" for i in range(12))
    props = tuple(sorted([*VISCOSITY, "ph"]))
    encoder = Encoder(names, props, 1.0, {p: TargetScaler("identity", 0.0, 1.0) for p in props},
                      8)
    mixer = build_mixer(MixerConfig(n_ingredients=13, n_properties=len(props), base_dim=8,
                                    mixer_dim=16, n_layers=1, n_heads=2), seed=0)
    rng = np.random.default_rng(1)
    vectors = (np.repeat(rng.normal(size=(3, 8)) * 3, 4, axis=0) + 0.1 * rng.normal(size=(12, 8))
               if planted else rng.normal(size=(12, 8)))
    with torch.no_grad():
        mixer.ingredient_embedding.weight[1:] = torch.as_tensor(vectors, dtype=torch.float32)
    return TrainedModel(mixer, encoder, TrainConfig())


@pytest.mark.parametrize("planted, expected", [(True, SUPPORTED), (False, NOT_SUPPORTED)])
def test_same_group_ingredients(planted, expected):
    groups = {f"C{i}": f"g{i // 4}" for i in range(12)}
    data = toy_dataset(n=60, groups=groups)
    context = AnalysisContext(tiny_trained(planted), data, formulation_ids=data.formulation_ids,
                                settings=Settings(rare_threshold=0, layout=None,
                                                  n_permutations=199))
    v = BUILTIN.evaluate(context, ["same_group_ingredients_closer"])[0]
    assert v.verdict == expected
    if planted:
        assert v.p_value == pytest.approx(1 / 200)
        assert v.evidence["ari"] == 1.0 and v.effect_size > 0.5
    assert context.ingredient_geometry is context.ingredient_geometry  # cached


def test_same_group_without_groups_is_inconclusive():
    data = toy_dataset()
    context = AnalysisContext(tiny_trained(True), data, formulation_ids=data.formulation_ids,
                                settings=Settings(layout=None))
    v = BUILTIN.evaluate(context, ["same_group_ingredients_closer"])[0]
    assert v.verdict == INCONCLUSIVE and "no expert groups" in v.note
