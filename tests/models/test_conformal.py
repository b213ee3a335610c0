"""Prediction intervals (split conformal, CV, CV+) and applicability flags."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.applicability import Domain, fit_domain
from models.calibration import predict_table
from models.checkpoint import load_model, save_model
from models.conformal import (
    Conformal,
    cross_fitted_coverage,
    cross_validation,
    split_conformal,
)
from models.data import load_dataset
from models.plans import fit_plan, plan_for
from models.synth import generate, write_dataset
from models.training import TrainConfig

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}


def test_split_conformal_takes_the_right_order_statistic():
    r = np.arange(1, 20, dtype=float)  # 19 residuals: ceil(0.9 * 20) = 18th smallest = 18
    c = split_conformal(["p"] * 19, r, np.zeros(19), coverage=0.9)
    low, high = c.interval_z("p", np.array([0.0, 5.0]))
    np.testing.assert_allclose(high - np.array([0.0, 5.0]), 18.0)
    np.testing.assert_allclose(low, [-18.0, -13.0])
    few = split_conformal(["p"] * 5, np.ones(5), np.zeros(5), coverage=0.9)
    assert np.isinf(few.interval_z("p", np.zeros(1))[1]).all()  # too few residuals
    assert np.isinf(c.interval_z("unknown", np.zeros(1))[0]).all()


def test_split_conformal_covers_exchangeable_data():
    rng = np.random.default_rng(0)
    calib = rng.standard_t(4, 2000)
    c = split_conformal(["p"] * 2000, calib, np.zeros(2000), coverage=0.9)
    new = rng.standard_t(4, 20000)
    low, high = c.interval_z("p", np.zeros(20000))
    assert abs(np.mean((new >= low) & (new <= high)) - 0.9) < 0.02
    again = Conformal.from_dict(c.to_dict())
    np.testing.assert_allclose(again.interval_z("p", np.zeros(3))[1], high[:3])


def _oof(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"property": "p", "member": np.arange(n) % 3,
                         "z_value": rng.normal(0, 1, n), "z_prediction": np.zeros(n)})


def test_cv_centres_on_the_members_mean_with_the_out_of_fold_quantile():
    oof = _oof()
    c = cross_validation(oof, coverage=0.8)
    assert c.method == "cv"
    q = np.sort(np.abs(oof["z_value"]))[int(np.ceil(0.8 * 301)) - 1]
    spread = np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 4.0]])  # members disagree
    low, high = c.interval_z("p", spread.mean(0), spread)
    np.testing.assert_allclose(low, spread.mean(0) - q)
    np.testing.assert_allclose(high, spread.mean(0) + q)
    again = Conformal.from_dict(c.to_dict())
    np.testing.assert_allclose(again.interval_z("p", spread.mean(0), spread)[1], high)


def test_cv_plus_uses_each_members_prediction():
    oof = _oof()
    c = cross_validation(oof, coverage=0.8, plus=True)
    members = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])  # members agree
    low, high = c.interval_z("p", members.mean(0), members)
    split = split_conformal(oof["property"], oof["z_value"], oof["z_prediction"], coverage=0.8)
    s_low, s_high = split.interval_z("p", members.mean(0))
    assert np.all(low <= s_low + 1e-9) and np.all(high >= s_high - 1e-9)
    spread = np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])  # members disagree on recipe 0
    low2, high2 = c.interval_z("p", spread.mean(0), spread)
    assert high2[0] - low2[0] > high[0] - low[0]
    table = cross_fitted_coverage(oof, coverage=0.8)
    assert abs(table["overall"]["coverage"] - 0.8) < 0.08


def test_flags_name_unseen_rare_out_of_range_and_far_recipes():
    rng = np.random.default_rng(2)
    train = []
    for _ in range(200):
        a = rng.uniform(40, 60)
        train.append((["water", "oil", "salt"], np.array([a, 100 - a - 2, 2.0])))
    train += [(["water", "rare"], np.array([90.0, 10.0]))] * 2
    domain = Domain.from_dict(fit_domain(train).to_dict())
    flags = domain.flags([
        (["water", "oil", "salt"], np.array([50.0, 48.0, 2.0])),
        (["water", "oil", "new"], np.array([50.0, 45.0, 5.0])),
        (["water", "rare"], np.array([90.0, 10.0])),
        (["water", "oil", "salt"], np.array([50.0, 10.0, 40.0])),
    ])
    assert flags[0] == ""
    assert "unseen:new" in flags[1] and "far" in flags[1]
    assert flags[2] == "rare:rare(2)"
    assert "range:salt" in flags[3] and "far" in flags[3]
    assert math.isfinite(domain.distance_threshold)
    spread = {"a": np.linspace(0, 1, 101), "b": np.linspace(0, 10, 101)}
    domain = Domain.from_dict(fit_domain(train, spread=spread).to_dict())
    same = [(["water", "oil", "salt"], np.array([50.0, 48.0, 2.0]))] * 2
    assert domain.flags(same, np.array([2.0, 2.0]), ["a", "b"]) == ["disagree", ""]


@pytest.fixture(scope="module")
def synthetic_2000(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conformal") / "data"
    write_dataset(generate(seed=0, n_formulations=2000), folder)
    return load_dataset(folder)


def test_intervals_cover_within_3_points_on_the_synthetic_test_split(synthetic_2000, tmp_path):
    # 2,000 recipes: about 900 validation residuals calibrate and about 1,800 test measurements
    # check, so the binomial standard error of the coverage is about 0.7 points
    model = fit_plan(synthetic_2000, plan_for(2000, ensemble=1, refit=False, smoothing=1),
                     mixer_options=TINY, train_config=TrainConfig(epochs=15, seed=0),
                     progress=False)
    table = model.metrics["conformal"]
    assert table["method"] == "split" and table["overall"]["n"] > 1500
    assert abs(table["overall"]["coverage"] - 0.9) <= 0.03
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    rows = synthetic_2000.measurements.iloc[:50][["formulation_id", "property"]]
    out = predict_table(loaded, synthetic_2000.recipes(), rows)
    assert list(out.columns) == ["formulation_id", "property", "prediction", "lower", "upper",
                                 "flags"]
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
    wider = predict_table(loaded, synthetic_2000.recipes(), rows, coverage=0.99)
    assert (wider["upper"] - wider["lower"] >= out["upper"] - out["lower"] - 1e-9).all()
