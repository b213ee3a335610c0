"""Recipes in any form a user hands over: one table shape, clear refusals, one encoding path."""

import numpy as np
import pandas as pd
import pytest

from xai.cases import make_cases
from xai.recipes import as_recipes, recipe_cases


def test_long_frame_keeps_order_sums_repeats_and_reads_ids_as_text():
    frame = pd.DataFrame({"formulation_id": [2, 2, 1, 2],
                          "ingredient": ["w", "x", "w", "w"],
                          "amount": [70.0, 30.0, 100.0, 5.0]})
    out = as_recipes(frame)
    assert list(out) == ["2", "1"]
    assert out["2"][0] == ["w", "x"]
    np.testing.assert_allclose(out["2"][1], [75.0, 30.0])
    assert out["1"][0] == ["w"] and out["1"][1].dtype == np.float64


def test_dict_of_dicts_and_dataset_give_the_same_shape(tiny_dataset):
    out = as_recipes({"A": {"w": 90, "x": 10.0}, 7: {"y": 1}})
    assert list(out) == ["A", "7"] and out["A"][0] == ["w", "x"]
    np.testing.assert_allclose(out["A"][1], [90.0, 10.0])
    from_dataset = as_recipes(tiny_dataset)
    assert list(from_dataset) == tiny_dataset.formulation_ids
    first = tiny_dataset.formulation_ids[0]
    assert from_dataset[first][0] == tiny_dataset.recipe(first)[0]


@pytest.mark.parametrize("recipes, message", [
    ({"A": {"w": -1.0}}, r"'w' in formulation 'A' has amount -1.0"),
    ({"A": {"w": float("nan")}}, r"finite and >= 0: 'w' in formulation 'A' has amount nan"),
    ({"A": {"w": float("inf")}}, r"amount inf"),
    ({"A": {"w": "lots"}}, r"amount 'lots' of 'w' in formulation 'A' is not a number"),
    ({"A": {}}, r"formulation 'A' has no ingredients"),
    ({}, r"no recipes"),
    (pd.DataFrame({"formulation_id": ["A"], "ingredient": ["w"]}), r"missing \['amount'\]"),
    (pd.DataFrame({"formulation_id": ["A"], "ingredient": ["w"], "amount": ["x"]}),
     r"amount 'x' of 'w' in formulation 'A' is not a number"),
    (pd.DataFrame({"formulation_id": ["A", "B"], "ingredient": ["w", "v"],
                   "amount": [1.0, -2.0]}), r"'v' in formulation 'B' has amount -2.0"),
])
def test_bad_recipes_are_refused_naming_what_is_wrong(recipes, message):
    with pytest.raises(ValueError, match=message):
        as_recipes(recipes)


def test_other_types_are_refused():
    with pytest.raises(TypeError, match="DataFrame"):
        as_recipes([("w", 1.0)])
    with pytest.raises(TypeError, match="recipe 'A' must be a dict"):
        as_recipes({"A": [1.0]})


def test_unknown_ingredients_and_properties_are_named(tiny_model):
    known = tiny_model.encoder.ingredients[0]
    with pytest.raises(ValueError, match=r"never saw: 'NOPE1', 'NOPE2'"):
        recipe_cases(tiny_model, {"A": {known: 1.0, "NOPE2": 1.0}, "B": {"NOPE1": 2.0}})
    with pytest.raises(ValueError, match=r"does not predict \['colour'\]"):
        recipe_cases(tiny_model, {"A": {known: 1.0}}, ["colour"])
    with pytest.raises(ValueError, match="in none of the recipes"):
        recipe_cases(tiny_model, {"A": {known: 1.0}}, balance_ingredient="water")


def test_new_recipes_encode_as_the_dataset_path_does(tiny_model, tiny_dataset):
    ids = tiny_dataset.formulation_ids[:4]
    frame = tiny_dataset.formulations[tiny_dataset.formulations["formulation_id"].isin(ids)]
    balance = tiny_dataset.truth["balance_ingredient"]
    direct = recipe_cases(tiny_model, frame.copy(), ["ph", "hardness"],
                          balance_ingredient=balance)
    reference = make_cases(tiny_model, tiny_dataset, ids, ["ph", "hardness"])
    assert direct.formulation_ids == reference.formulation_ids
    assert direct.properties == reference.properties
    assert direct.ingredients == reference.ingredients
    for name in ("ids", "amounts", "mask", "property_ids", "balance_slot"):
        assert getattr(direct, name).equal(getattr(reference, name)), name
    assert np.isnan(direct.measured).all()


def test_default_properties(tiny_model, tiny_dataset):
    known = tiny_model.encoder.ingredients[:2]
    cases = recipe_cases(tiny_model, {"A": dict.fromkeys(known, 1.0)})
    assert cases.properties == tiny_model.properties
    # a dataset: the properties measured on each formulation, with their measured values
    f = tiny_dataset.formulation_ids[0]
    cases = recipe_cases(tiny_model, tiny_dataset.subset([f]))
    measured = tiny_dataset.measurements[tiny_dataset.measurements["formulation_id"] == f]
    assert set(cases.properties) == set(measured["property"])
    assert np.isfinite(cases.measured).all()
