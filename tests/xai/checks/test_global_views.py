import numpy as np
import pytest

from xai.absence import Absence
from xai.attribution.results import Attribution
from xai.checks.global_views import dependence, dependence_points, global_importance


def attribution():
    nan = np.nan
    return Attribution(
        method="ig", absence=Absence.balance("water"),
        formulation_ids=("F1", "F2", "F3", "F1"),
        properties=("ph", "ph", "ph", "hardness"),
        ingredients=(("water", "A", "B"), ("water", "A"), ("B", "C"), ("water", "A", "B")),
        raw_amounts=(np.array([80.0, 15.0, 5.0]), np.array([90.0, 10.0]),
                     np.array([40.0, 60.0]), np.array([80.0, 15.0, 5.0])),
        values=np.array([[nan, 0.6, -0.2], [nan, 0.2, nan], [0.1, -0.9, nan],
                         [nan, 0.05, 1.0]]),
        prediction=np.zeros(4), baseline=np.zeros(4),
    )


def test_importance_per_property_by_hand():
    result = global_importance(attribution())
    ph = result.per_property["ph"]
    # A: |0.6|, |0.2| -> 0.4, signed 0.4; C: 0.9, -0.9; B: |-0.2|, |0.1| -> 0.15, signed -0.05
    assert ph.ingredients == ("C", "A", "B")
    np.testing.assert_allclose(ph.mean_abs, [0.9, 0.4, 0.15])
    np.testing.assert_allclose(ph.mean_signed, [-0.9, 0.4, -0.05])
    assert ph.counts.tolist() == [1, 2, 2]
    assert "water" not in ph.ingredients  # not a player under balance absence
    hardness = result.per_property["hardness"]
    assert hardness.ingredients == ("B", "A")
    out = result.to_dict(top=1)
    assert out["properties"]["ph"] == {"ingredients": ["C"], "mean_abs": [pytest.approx(0.9)],
                                       "mean_signed": [pytest.approx(-0.9)], "counts": [1]}


def test_dependence_points_pair_amounts_with_attributions():
    points = dependence(attribution(), "A", "ph")
    assert points.formulation_ids == ("F1", "F2")
    np.testing.assert_allclose(points.amounts, [15.0, 10.0])
    np.testing.assert_allclose(points.attributions, [0.6, 0.2])
    assert len(dependence(attribution(), "water", "ph").amounts) == 0
    top = dependence_points(attribution(), top=2)
    assert [(p.property, p.ingredient) for p in top] == [
        ("hardness", "B"), ("hardness", "A"), ("ph", "C"), ("ph", "A")]
    assert top[2].to_dict()["amounts"] == [60.0]
