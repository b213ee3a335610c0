import numpy as np

from models.metrics import regression_metrics
from models.pipeline import evaluate
from models.synth import oracle_predict


def _test_rows(model, dataset, prop):
    rows = dataset.measurements
    rows = rows[rows["formulation_id"].isin(set(model.split.test)) & (rows["property"] == prop)]
    recipes = dataset.recipes()
    predicted = model.predict([recipes[f] for f in rows["formulation_id"]], [prop] * len(rows))
    return rows, predicted


def test_test_metrics_are_recomputed_by_hand(tiny_model, tiny_dataset):
    metrics = evaluate(tiny_model, tiny_dataset, tiny_model.split)
    log_props = set(tiny_dataset.properties.loc[
        tiny_dataset.properties["transform"] == "log", "property"])
    assert log_props
    for prop in tiny_model.properties:
        rows, predicted = _test_rows(tiny_model, tiny_dataset, prop)
        if len(rows) < 2:
            continue
        y = rows["value"].to_numpy(np.float64)
        test = metrics["properties"][prop]["test"]
        expected = regression_metrics(y, predicted)
        assert test["n"] == len(y)
        np.testing.assert_allclose([test["mae"], test["rmse"], test["r2"]],
                                   [expected["mae"], expected["rmse"], expected["r2"]], rtol=1e-6)
        if prop in log_props:
            ss_res = np.sum((np.log(y) - np.log(predicted)) ** 2)
            ss_tot = np.sum((np.log(y) - np.log(y).mean()) ** 2)
            np.testing.assert_allclose(test["r2_log"], 1 - ss_res / ss_tot, rtol=1e-6)
        else:
            assert "r2_log" not in test
        recipes = tiny_dataset.recipes()
        clean = oracle_predict(tiny_dataset.truth, [recipes[f][0] for f in rows["formulation_id"]],
                               [recipes[f][1] for f in rows["formulation_id"]], prop)
        np.testing.assert_allclose(test["oracle_r2"], regression_metrics(y, clean)["r2"])


def test_summary_counts_only_well_measured_properties(tiny_model, tiny_dataset):
    metrics = evaluate(tiny_model, tiny_dataset, tiny_model.split)
    counts = tiny_dataset.measurements["property"].value_counts()
    well = [p for p in tiny_model.properties if counts.get(p, 0) >= 200]
    r2 = [metrics["properties"][p]["test"]["r2"] for p in well]
    summary = metrics["summary"]
    assert summary["properties_200plus"] == len([v for v in r2 if np.isfinite(v)])
    if r2:
        np.testing.assert_allclose(summary["median_test_r2_200plus"], np.nanmedian(r2))
