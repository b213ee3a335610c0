"""The notebook API: explain and predict on recipes that no dataset folder holds."""

import numpy as np
import pandas as pd
import pytest

import xai
from xai.attribution.results import Attribution


@pytest.fixture(scope="module")
def new_recipes(tiny_model, tiny_dataset):
    """Three recipes made up from ingredients the model knows, under ids no dataset has."""
    water = tiny_dataset.truth["balance_ingredient"]
    others = [c for c in tiny_model.encoder.ingredients if c != water][:6]
    rows = [("new-1", water, 80.0), ("new-1", others[0], 15.0), ("new-1", others[1], 5.0),
            ("new-2", water, 60.0), ("new-2", others[2], 30.0), ("new-2", others[3], 6.0),
            ("new-2", others[4], 4.0),
            ("new-3", others[5], 50.0), ("new-3", water, 50.0)]
    return pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"])


def test_explain_a_frame_of_new_recipes(tiny_model, new_recipes):
    ex = xai.explain(tiny_model, new_recipes, properties=["ph", "hardness"])
    assert isinstance(ex, Attribution) and ex.method == "shapley_exact"
    assert ex.formulation_ids == ("new-1", "new-1", "new-2", "new-2", "new-3", "new-3")
    assert ex.properties == ("ph", "hardness") * 3
    assert ex.ingredients[2] == tuple(new_recipes["ingredient"][3:7])
    # exact Shapley values are efficient
    np.testing.assert_allclose(np.nansum(ex.values, 1), ex.prediction - ex.baseline, atol=1e-5)
    # and the prediction is the model's own
    expected = xai.predict(tiny_model, new_recipes, ["ph", "hardness"])
    original = tiny_model.encoder.from_standard(list(ex.properties), ex.prediction)
    np.testing.assert_allclose(original, expected["prediction"], rtol=1e-4)
    # slicing keeps the headers with their values
    one = ex.select(formulations=["new-2"], properties=["hardness"])
    assert one.formulation_ids == ("new-2",) and one.properties == ("hardness",)
    np.testing.assert_allclose(one.row(0), ex.row(3))
    assert ex[:3].formulation_ids == ex.formulation_ids[:3]
    frame = ex[0].to_frame()
    assert frame["ingredient"].tolist() == new_recipes["ingredient"][:3].tolist()
    np.testing.assert_allclose(frame["amount"], [80.0, 15.0, 5.0])


def test_explain_both_methods_and_balance_absence(tiny_model, tiny_dataset, new_recipes):
    water = tiny_dataset.truth["balance_ingredient"]
    both = xai.explain(tiny_model, new_recipes, properties=["ph"], method="both",
                       absence=xai.Absence.balance(water))
    assert set(both) == {"ig", "shapley"}
    for attribution in both.values():
        assert str(attribution.absence) == "balance" and len(attribution) == 3
        assert np.isnan(attribution.values[0, 0])  # water is not a player
    assert both["ig"].converged is not None and both["shapley"].exact is not None
    with pytest.raises(ValueError, match="Absence.balance\\('water'\\)"):
        xai.explain(tiny_model, new_recipes, absence=xai.Absence.balance())
    with pytest.raises(TypeError, match="Absence"):
        xai.explain(tiny_model, new_recipes, absence="removed")
    with pytest.raises(ValueError, match="method"):
        xai.explain(tiny_model, new_recipes, method="lime")


def test_explain_a_dataset_matches_its_recipes_as_a_frame(tiny_model, tiny_dataset):
    ids = tiny_dataset.formulation_ids[:3]
    subset = tiny_dataset.subset(ids)
    from_dataset = xai.explain(tiny_model, subset, properties=["ph"], method="ig")
    from_frame = xai.explain(tiny_model, subset.formulations, properties=["ph"], method="ig")
    assert from_dataset.formulation_ids == from_frame.formulation_ids == tuple(ids)
    np.testing.assert_allclose(from_dataset.values, from_frame.values)


def test_predict_a_dict_of_dicts(tiny_model, tiny_dataset):
    f = tiny_dataset.formulation_ids[0]
    codes, amounts = tiny_dataset.recipe(f)
    recipes = {"mine": dict(zip(codes, amounts, strict=True)),
               "half": {codes[0]: 50.0, codes[1]: 50.0}}
    out = xai.predict(tiny_model, recipes)
    assert list(out.columns) == ["formulation_id", "property", "prediction"]
    assert len(out) == 2 * len(tiny_model.properties)
    assert out["property"].tolist()[: len(tiny_model.properties)] == list(tiny_model.properties)
    mine = out[(out["formulation_id"] == "mine") & (out["property"] == "ph")]["prediction"]
    assert float(mine.iloc[0]) == pytest.approx(tiny_model.predict([(codes, amounts)],
                                                                    ["ph"])[0], rel=1e-5)
    with pytest.raises(ValueError, match="never saw: 'RM-unknown'"):
        xai.predict(tiny_model, {"bad": {"RM-unknown": 1.0}})


def test_audit_and_represent_are_the_runs(monkeypatch, tiny_model, tiny_dataset):
    calls = {}

    def fake_audit(model, dataset, *, settings=None, say=None, **_):
        calls["audit"] = (model, dataset, settings)
        return "audit"

    def fake_represent(model, dataset, **kwargs):
        calls["represent"] = (model, dataset, kwargs)
        return "represent"

    monkeypatch.setattr("xai.runs.audit.run_audit", fake_audit)
    monkeypatch.setattr("xai.runs.represent.represent", fake_represent)
    quick = xai.AuditSettings.quick()
    assert xai.audit(tiny_model, tiny_dataset, quick) == "audit"
    assert calls["audit"] == (tiny_model, tiny_dataset, quick)
    assert xai.represent(tiny_model, tiny_dataset, seed=3) == "represent"
    assert calls["represent"][2]["seed"] == 3


def test_predict_carries_the_intervals_and_flags_of_a_calibrated_ensemble(tiny_dataset,
                                                                          new_recipes):
    from models.calibration import predict_table
    from models.plans import fit_plan, plan_for
    from models.training import TrainConfig

    model = fit_plan(tiny_dataset, plan_for(len(tiny_dataset.formulation_ids), ensemble=2),
                     mixer_options={"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2,
                                    "head_hidden": 16},
                     train_config=TrainConfig(epochs=4, seed=0), progress=False)
    out = xai.predict(model, new_recipes, ["ph"])
    assert list(out.columns) == ["formulation_id", "property", "prediction", "spread", "lower",
                                 "upper", "flags"]
    assert (out["lower"] < out["prediction"]).all() and (out["prediction"] < out["upper"]).all()
    table = {f: (list(g["ingredient"]), g["amount"].to_numpy(float))
             for f, g in new_recipes.groupby("formulation_id", sort=False)}
    expected = predict_table(model, table, out[["formulation_id", "property"]])
    pd.testing.assert_frame_equal(out, expected)
    wider = xai.predict(model, new_recipes, ["ph"], coverage=0.99)
    assert ((wider["upper"] - wider["lower"]) >= (out["upper"] - out["lower"])).all()
    # an amount far outside what the training recipes held is flagged
    odd = {"odd": {new_recipes["ingredient"][3]: 1.0, new_recipes["ingredient"][4]: 99.0}}
    assert "range:" in xai.predict(model, odd, ["ph"])["flags"][0]
