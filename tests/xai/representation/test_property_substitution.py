import copy
import json

import numpy as np
import pytest
import torch

from xai.representation.property_substitution import property_substitution, training_counts

LOW, DONOR = "viscosity_6pin_10rpm", "viscosity_4pin_10rpm"


@pytest.fixture(scope="module")
def result(tiny_model, tiny_dataset):
    return property_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                 low_data_threshold=100, n_bootstrap=200, seed=0)


def test_low_data_properties_follow_the_training_counts(result, tiny_model, tiny_dataset):
    m = tiny_dataset.measurements
    train = m[m["formulation_id"].isin(set(tiny_model.split.train))]
    counts = train["property"].value_counts()
    expected = {p for p in tiny_model.properties if counts.get(p, 0) < 100}
    assert set(result.low_data) == expected
    assert training_counts(tiny_model, tiny_dataset) == {
        p: int(counts.get(p, 0)) for p in tiny_model.properties}
    tested = {r.property for r in result.results} | {s["property"] for s in result.skipped}
    assert tested == expected


def test_own_error_equals_the_models_test_metrics(result, tiny_model):
    for r in result.results:
        test = tiny_model.metrics["properties"][r.property]["test"]
        assert r.n_cases == test["n"]
        assert r.own_mae == pytest.approx(test["mae"], rel=1e-5)
        assert r.own_rmse == pytest.approx(test["rmse"], rel=1e-5)


def test_donor_rows_equal_predicting_the_donor(result, tiny_model, tiny_dataset):
    """With the donor's vector the model predicts the donor; the two scalers read that
    standardised value in the low-data property's or the donor's units."""
    prop = max(result.low_data, key=lambda p: next(
        (r.n_cases for r in result.results if r.property == p), 0))
    m = tiny_dataset.measurements
    rows = m[m["formulation_id"].isin(set(tiny_model.split.test)) & (m["property"] == prop)]
    recipes = tiny_dataset.recipes()
    rs = [recipes[f] for f in rows["formulation_id"]]
    y = rows["value"].to_numpy()
    enc = tiny_model.encoder
    for donor in ("ph", DONOR):
        z = tiny_model.predict(rs, [donor] * len(rs), standardised=True)
        target = next(r for r in result.results if (r.property, r.donor, r.scaler)
                      == (prop, donor, "target"))
        own_units = next(r for r in result.results if (r.property, r.donor, r.scaler)
                         == (prop, donor, "donor"))
        assert target.mae == pytest.approx(
            np.mean(np.abs(enc.from_standard([prop] * len(y), z) - y)), rel=1e-5)
        assert own_units.mae == pytest.approx(
            np.mean(np.abs(tiny_model.predict(rs, [donor] * len(rs)) - y)), rel=1e-5)
        assert target.mae_change == pytest.approx(target.mae - target.own_mae, rel=1e-6)
        assert target.rmse_change == pytest.approx(target.rmse - target.own_rmse, rel=1e-6)
        assert target.mae_change_low <= target.mae_change <= target.mae_change_high


def test_a_donor_with_the_same_vector_changes_nothing(tiny_model, tiny_dataset):
    model = copy.deepcopy(tiny_model)
    enc = model.encoder
    with torch.no_grad():
        table = model.mixer.property_embedding.weight
        table[enc.property_id("ph")] = table[enc.property_id(LOW)]
    out = property_substitution(model, tiny_dataset, model.split.test, n_bootstrap=50)
    row = next(r for r in out.results if (r.property, r.donor, r.scaler) == (LOW, "ph", "target"))
    assert abs(row.mae_change) < 1e-6 * max(row.own_mae, 1.0)
    assert row.distance == 0.0


def test_recommended_donor_is_the_nearest_high_data_one_in_the_group(result, tiny_model,
                                                                    tiny_dataset):
    groups = tiny_dataset.property_groups()
    counts = training_counts(tiny_model, tiny_dataset)
    table = tiny_model.mixer.property_table().detach().numpy()
    enc = tiny_model.encoder
    for prop in {r.property for r in result.results}:
        rows = [r for r in result.results if r.property == prop and r.scaler == "target"]
        flagged = [r for r in rows if r.recommended]
        candidates = [r.donor for r in rows if groups.get(r.donor) == groups.get(prop)
                      and counts[r.donor] >= 100]
        if not candidates:
            assert not flagged
            continue
        distances = [np.linalg.norm(table[enc.property_id(c)] - table[enc.property_id(prop)])
                     for c in candidates]
        assert [r.donor for r in flagged] == [candidates[int(np.argmin(distances))]]
        assert flagged[0].same_group and flagged[0].high_data
        assert result.headline["properties"][prop]["recommended_donor"] == flagged[0].donor
    assert any(r.recommended for r in result.results)  # the 6-pin viscosities have one
    json.dumps(result.to_dict())


def test_frame_has_one_row_per_result(result):
    frame = result.to_frame()
    assert len(frame) == len(result.results)
    first = result.results[0]
    assert (frame.iloc[0]["property"], frame.iloc[0]["donor"], frame.iloc[0]["scaler"]) == (
        first.property, first.donor, first.scaler)
    assert frame.iloc[0]["rmse"] == first.rmse
