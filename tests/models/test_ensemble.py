"""Small data: training plans by size, smoothed early stopping, cross-fitted ensembles, refits,
and the small synthetic regime."""

from __future__ import annotations

import numpy as np
import pytest

from models.checkpoint import load_model, save_model
from models.data import load_dataset
from models.ensemble import fit_ensemble, predict_with_spread
from models.pipeline import fit_model, measured_formulations
from models.plans import fit_plan, plan_for
from models.synth_small import generate_small, oracle_values, write_small
from models.training import TrainConfig

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small") / "data"
    write_small(generate_small(seed=1, n_formulations=120, n_ingredients=60, n_pure=4,
                               n_binary=12), folder)
    return load_dataset(folder)


def test_plans_follow_the_data_size():
    small = plan_for(400)
    assert (small.ensemble, small.refit, small.smoothing) == (5, True, 5)
    assert "400 recipes, under 1000" in small.describe()
    large = plan_for(5000)
    assert (large.ensemble, large.refit, large.smoothing) == (1, False, 1)
    mixed = plan_for(400, ensemble=1, refit=False)
    assert (mixed.ensemble, mixed.refit, mixed.smoothing) == (1, False, 5)
    assert "flags: ensemble=1, refit=False" in mixed.reason
    with pytest.raises(ValueError):
        plan_for(10, ensemble=0)


def test_smoothed_stopping_picks_the_epoch_of_the_lowest_median(small):
    model = fit_model(small, mixer_options=TINY, progress=False,
                      train_config=TrainConfig(epochs=12, smoothing=3, patience=100, seed=0))
    epochs = model.history.epochs
    raw = [e["validation_loss"] for e in epochs]
    smoothed = [e["smoothed_validation_loss"] for e in epochs]
    for i in range(len(raw)):
        assert smoothed[i] == pytest.approx(np.median(raw[max(0, i - 2): i + 1]))
    assert model.history.best_epoch == int(np.argmin(smoothed))


def test_cross_fitted_ensemble_predicts_every_recipe_out_of_fold(small, tmp_path):
    cfg = TrainConfig(epochs=4, seed=0, smoothing=2)
    model = fit_ensemble(small, k=3, refit=True, mixer_options=TINY, train_config=cfg)
    ensemble = model.ensemble
    assert len(ensemble) == 3
    ids = set(measured_formulations(small))
    folds = [set(f) for f in ensemble.folds]
    assert set().union(*folds) == ids and sum(map(len, folds)) == len(ids)
    oof = ensemble.oof
    assert len(oof) == len(small.measurements)
    for i, fold in enumerate(folds):  # each row predicted by the member that never saw it
        assert set(oof.loc[oof["member"] == i, "formulation_id"]) <= fold
    assert model.split.method.startswith("refit") and not model.split.test
    assert model.metrics["properties"]["y"]["test"]["n"] == int(
        (small.measurements["property"] == "y").sum())
    assert "out-of-fold" in model.metrics["evaluation"]
    assert model.metrics["ensemble"]["refit_epochs"] == int(
        np.median(ensemble.best_epochs)) + 1
    recipes = small.recipes()
    some = [recipes[f] for f in sorted(ids)[:10]]
    mean, spread = predict_with_spread(model, some, ["y"] * 10)
    assert np.all(spread > 0) and np.all(np.isfinite(mean))
    # the checkpoint keeps the members as safetensors files and reloads them exactly
    save_model(model, tmp_path / "model")
    assert len(list((tmp_path / "model" / "members").glob("member_*.safetensors"))) == 3
    loaded = load_model(tmp_path / "model")
    again, spread_again = predict_with_spread(loaded, some, ["y"] * 10)
    np.testing.assert_allclose(again, mean, rtol=1e-5)
    np.testing.assert_allclose(spread_again, spread, rtol=1e-4, atol=1e-6)
    assert loaded.ensemble.oof.equals(oof) or np.allclose(
        loaded.ensemble.oof["prediction"], oof["prediction"])


def test_refit_trains_on_everything_for_the_chosen_epochs(small):
    model = fit_plan(small, plan_for(120, ensemble=1, refit=True, smoothing=1),
                     mixer_options=TINY, train_config=TrainConfig(epochs=5, seed=0))
    assert model.split.method == "refit"
    assert set(model.split.train) == set(measured_formulations(small))
    assert model.metrics["refit"]["n_formulations"] == len(model.split.train)
    assert len(model.history.epochs) == model.metrics["refit"]["epochs"]
    assert model.metrics["plan"]["refit"] is True


def test_small_regime_is_small_uneven_and_has_an_oracle():
    data = generate_small(seed=0)
    f = data.formulations
    sizes = f.groupby("formulation_id").size()
    assert sizes.size == 400
    counts = f["ingredient"].value_counts()
    assert 130 <= len(counts) <= 150
    assert (counts < 10).mean() > 0.6  # most components are rare
    assert (sizes == 1).sum() >= 5 and (sizes == 2).sum() >= 30
    y = data.measurements[data.measurements["property"] == "y"].set_index("formulation_id")
    recipes = {fid: g for fid, g in f.groupby("formulation_id")}
    ids = list(y.index)
    clean = oracle_values(data.oracle, [recipes[i]["ingredient"].tolist() for i in ids],
                          [recipes[i]["amount"].to_numpy() for i in ids], "y")
    residual = y["value"].to_numpy() - clean
    assert abs(residual.std() - data.oracle["noise"]["y"]) < 0.3
    reference = f[(f["ingredient"] == "C000") & (f["amount"] == 100.0)]["formulation_id"]
    assert y.loc[reference, "value"].tolist() == [0.0]
    assert {"d1", "d2", "d3"} <= set(data.ingredients.columns)
