"""Attributions in original units: exact for the identity and the log transform."""

import math

import numpy as np
import pytest

from models.encoding import TargetScaler
from xai.attribution.units import add_original_units, to_original, unit_conversion


@pytest.mark.parametrize("transform", ["identity", "log"])
def test_shares_read_back_through_the_scaler(transform):
    scaler = TargetScaler(transform, mean=1.2, std=0.7)
    conversion = unit_conversion(scaler.transform, scaler.std)
    z0, a = -0.3, 0.8  # a prediction in model units and one ingredient's share of a change
    before, after = scaler.inverse(np.array([z0, z0 + a]))
    shown = to_original(a, conversion)
    if transform == "identity":
        assert shown == pytest.approx(after - before)  # an amount added, property's unit
    else:
        assert shown == pytest.approx(after / before)  # a factor on the prediction


def test_no_conversion_without_a_known_transform_or_value():
    assert unit_conversion("sqrt", 1.0) is None
    assert unit_conversion("identity", 0.0) is None
    assert to_original(None, unit_conversion("log", 1.0)) is None
    assert to_original(1.0, None) is None
    assert math.isfinite(to_original(1e6, unit_conversion("log", 1.0)))


def test_review_cases_gain_original_values(tiny_audit):
    cases = tiny_audit.results["review"]["cases"]
    conversions = tiny_audit.results["attributions"]["unit_conversion"]
    for case in cases:
        for prop in case["properties"]:
            assert prop["conversion"] == conversions[prop["property"]]
            for r in prop["ingredients"]:
                if r["shapley"] is None:
                    assert r["shapley_original"] is None
                else:
                    assert r["shapley_original"] == pytest.approx(
                        to_original(r["shapley"], prop["conversion"]))
    again = add_original_units(cases, conversions)
    assert again[0]["properties"][0]["ingredients"] == cases[0]["properties"][0]["ingredients"]


def test_global_importance_in_original_units(tiny_audit):
    a = tiny_audit.results["attributions"]
    shown = a["importance_original_units"]
    assert set(shown) == set(a["global"]["shapley"]["properties"])
    for prop, e in shown.items():
        conversion = a["unit_conversion"][prop]
        assert e["kind"] == conversion["kind"]
        assert e["original"] == pytest.approx([to_original(v, conversion)
                                               for v in e["mean_signed"]])
