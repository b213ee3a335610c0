"""Every design's evidence is what ``xai predict`` states for its recipe: prediction (an
ensemble's mean), conformal interval and the model's applicability flags, with the targets met
by the prediction and by the whole interval; models without a calibration or domain still work."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from models.applicability import fit_domain
from models.calibration import predict_table
from xai.inverse import DesignConfig, PropertyPrediction, Target, design, strict_json
from xai.inverse.problem import build_space

FAST = {"budget": 300, "pop_size": 50, "n": 4, "methods": ("nsga2",)}
TARGETS = ["ph=5..6.5", "stability=20..80"]


def _reject(token):
    raise ValueError(f"{token} in strict JSON")


@pytest.fixture(scope="module")
def results(calibrated_model, ensemble_model, tiny_model, tiny_dataset):
    """One small design run per model: split-calibrated, calibrated ensemble, and no trust."""
    models = {"single": calibrated_model, "ensemble": ensemble_model, "none": tiny_model}
    return {k: (m, design(m, tiny_dataset, TARGETS, DesignConfig(**FAST)))
            for k, m in models.items()}


def _table(model, d) -> pd.DataFrame:
    """predict_table for the design's recipe, its properties in the design's order."""
    rows = pd.DataFrame([(d.design_id, p.property) for p in d.predictions],
                        columns=["formulation_id", "property"])
    return predict_table(model, {d.design_id: (list(d.ingredients), d.amounts)}, rows)


@pytest.mark.parametrize("kind", ["single", "ensemble"])
def test_evidence_is_predict_tables(results, kind):
    model, result = results[kind]
    assert result.trust.coverage == model.conformal.coverage == 0.9
    assert result.trust.interval_method == model.conformal.method
    assert result.trust.interval_reason is None
    assert result.trust.flags_source == "model"
    assert len(result) == 4
    for d in result.designs:
        names = [p.property for p in d.predictions]
        assert names[:2] == ["ph", "stability"]
        assert sorted(names) == sorted(model.properties)
        table = _table(model, d)  # one recipe per batch here: float32 noise, no more
        for column, attr in (("prediction", "value"), ("lower", "lower"), ("upper", "upper")):
            np.testing.assert_allclose([getattr(p, attr) for p in d.predictions],
                                       table[column], rtol=1e-6, atol=1e-5, err_msg=column)
        assert [";".join(p.flags) for p in d.predictions] == table["flags"].tolist()
        for p in d.predictions:
            assert p.lower <= p.value <= p.upper
            assert p.has_interval
        if kind == "ensemble":
            np.testing.assert_allclose([p.spread for p in d.predictions], table["spread"],
                                       rtol=1e-4)
            assert all(p.spread > 0 for p in d.predictions)
        else:
            assert all(math.isnan(p.spread) for p in d.predictions)


@pytest.mark.parametrize("kind", ["single", "ensemble", "none"])
def test_targets_met_by_prediction_and_by_interval(results, kind):
    _, result = results[kind]
    targets = {t.property: t for t in result.targets}
    for d in result.designs:
        assert [p.property for p in d.targeted] == list(targets)
        for p in d.targeted:
            t = targets[p.property]
            assert p.target == t
            assert p.meets_target == (t.low <= p.value <= t.high)
            assert (d.target_distance[p.property] == 0) == p.meets_target
            if kind == "none":
                assert p.interval_inside_target is None
            else:
                assert p.interval_inside_target == (t.low <= p.lower and p.upper <= t.high)
        assert all(p.meets_target is None for p in d.predictions[2:])
        assert d.meets == all(p.meets_target for p in d.targeted)
        assert d.predicted == {p.property: p.value for p in d.targeted}
        expected = None if kind == "none" else all(p.interval_inside_target for p in d.targeted)
        assert d.intervals_inside == expected


@pytest.mark.parametrize("p, meets, inside, reason", [
    (PropertyPrediction("ph", 5.5, 5.2, 5.8, target=Target("ph", 5, 6)), True, True, None),
    (PropertyPrediction("ph", 5.5, 4.8, 5.8, target=Target("ph", 5, 6)), True, False, None),
    (PropertyPrediction("ph", 6.5, 5.2, 7.0, target=Target("ph", 5, 6)), False, False, None),
    (PropertyPrediction("ph", 5.5, 5.2, math.inf, target=Target("ph", 5, 6)), True, False,
     "unbounded"),
    (PropertyPrediction("ph", 5.5, target=Target("ph", 5, 6)), True, None, "no interval"),
    (PropertyPrediction("ph", 5.5, 5.2, 5.8), None, None, None),
])
def test_met_by_prediction_and_by_interval_known_answers(p, meets, inside, reason):
    assert p.meets_target is meets
    assert p.interval_inside_target is inside
    assert (p.interval_reason is None) == (reason is None)
    if reason:
        assert reason in p.interval_reason


def test_model_without_calibration_or_domain(results, tiny_dataset):
    model, result = results["none"]
    assert model.conformal is None and model.domain is None
    assert result.trust.coverage is None and "no interval calibration" in \
        result.trust.interval_reason
    assert result.trust.flags_source == "training recipes"
    # the same flags as predict_table gives with the domain training would have fitted
    space = build_space(model, tiny_dataset)
    recipes = tiny_dataset.recipes()
    domain = fit_domain([recipes[f] for f in space.training_ids])
    with_domain = dataclasses.replace(model, domain=domain)
    for d in result.designs:
        assert all(math.isnan(p.lower) and math.isnan(p.upper) for p in d.predictions)
        assert all("no interval calibration" in p.interval_reason for p in d.predictions)
        table = _table(with_domain, d)
        assert [";".join(p.flags) for p in d.predictions] == table["flags"].tolist()
        assert "lower" not in _table(model, d)
    summary = json.loads(strict_json(result.to_dict()), parse_constant=_reject)
    assert summary["intervals"] == {"coverage": None, "method": None,
                                    "reason": result.trust.interval_reason}
    first = summary["designs"][0]["predictions"][0]
    assert first["lower"] is None and first["upper"] is None and first["spread"] is None
    assert first["interval_inside_target"] is None and first["meets_target"] is not None


@pytest.mark.parametrize("kind", ["single", "none"])
def test_amount_outside_the_training_range_is_flagged(kind, calibrated_model, tiny_model,
                                                      tiny_dataset):
    """An ingredient fixed above its training maximum shows range:CODE on every property of
    every design, and range: names exactly the ingredients outside the domain's ranges."""
    model = calibrated_model if kind == "single" else tiny_model
    space = build_space(model, tiny_dataset)
    balance = tiny_dataset.truth["balance_ingredient"]
    frequent = [c for j, c in enumerate(space.codes)
                if space.frequency[j] >= 10 and c != balance and space.high[j] < 5]
    code = frequent[0]
    amount = round(float(space.high[space.codes.index(code)]) * 1.5 + 0.01, 4)
    config = DesignConfig(**FAST, fixed=((code, amount),))
    result = design(model, tiny_dataset, TARGETS, config)
    recipes = tiny_dataset.recipes()
    domain = model.domain or fit_domain([recipes[f] for f in space.training_ids])
    assert domain.ranges[code][1] < amount
    for d in result.designs:
        outside = {c for c, a in zip(d.ingredients, d.amounts, strict=True)
                   if not domain.ranges[c][0] - 1e-9 <= a <= domain.ranges[c][1] + 1e-9}
        assert code in outside
        for p in d.predictions:
            assert f"range:{code}" in p.flags
            assert {f[len("range:"):] for f in p.flags if f.startswith("range:")} == outside
        assert f"range:{code}" in d.flags


def test_to_frame_matches_to_dict(results):
    model, result = results["ensemble"]
    frame = result.to_frame()
    assert list(frame.columns[:7]) == ["formulation_id", "property", "prediction", "spread",
                                       "lower", "upper", "flags"]
    assert len(frame) == len(result) * len(model.properties)
    summary = json.loads(strict_json(result.to_dict()), parse_constant=_reject)
    entries = [(d["design_id"], p) for d in summary["designs"] for p in d["predictions"]]
    for (design_id, p), (_, row) in zip(entries, frame.iterrows(), strict=True):
        assert row["formulation_id"] == design_id and row["property"] == p["property"]
        assert row["prediction"] == pytest.approx(p["prediction"], rel=1e-12)
        if p["lower"] is None:
            assert not math.isfinite(row["lower"])
        else:
            assert row["lower"] == pytest.approx(p["lower"], rel=1e-12)
        assert [f for f in row["flags"].split(";") if f] == p["flags"]
        assert row["targeted"] == p["targeted"]
        assert row["interval_inside_target"] == p["interval_inside_target"]
