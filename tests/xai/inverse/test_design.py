"""design(): counterfactual limits, infeasible targets, the change attribution, truth scores."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xai.inverse import DesignConfig, DesignError, design
from xai.inverse.evidence import change_players, change_shapley, coalition_recipes
from xai.inverse.problem import build_space
from xai.inverse.scoring import Scorer
from xai.inverse.targets import check_targets

FAST = {"budget": 300, "pop_size": 50, "n": 6}


def _range(dataset, prop, lo_q, hi_q):
    values = dataset.measurements.loc[dataset.measurements["property"] == prop, "value"]
    return f"{prop}={values.quantile(lo_q):.4g}..{values.quantile(hi_q):.4g}"


@pytest.fixture(scope="module")
def counterfactual(tiny_model, tiny_dataset):
    start = tiny_dataset.formulation_ids[5]
    targets = [_range(tiny_dataset, "ph", 0.6, 0.9), _range(tiny_dataset, "stability", 0.3, 0.9)]
    config = DesignConfig(start=start, max_changes=2, **FAST)
    return design(tiny_model, tiny_dataset, targets, config)


def test_counterfactual_changes_at_most_two_ingredients(counterfactual, tiny_dataset):
    assert len(counterfactual) == 6
    codes, amounts = tiny_dataset.recipe(counterfactual.config.start)
    start = dict(zip(codes, amounts, strict=True))
    for d in counterfactual.designs:
        mine = dict(zip(d.ingredients, d.amounts, strict=True))
        differ = [c for c in set(start) | set(mine)
                  if abs(start.get(c, 0.0) - mine.get(c, 0.0)) > 1e-4]
        assert 1 <= len(differ) <= 2, differ
        assert len(d.changes) == len(differ)
        assert sum(d.amounts) == pytest.approx(sum(amounts), abs=1e-6)


def test_change_attribution_adds_up(counterfactual):
    for d in counterfactual.designs:
        a = d.attribution
        assert a["exact"]
        for prop, values in a["values"].items():
            total = sum(values.values())
            assert total == pytest.approx(a["design_prediction"][prop]
                                          - a["start_prediction"][prop], abs=1e-5)


def test_truth_scores_every_design(counterfactual):
    for d in counterfactual.designs:
        assert set(d.truth) == {t.property for t in counterfactual.targets}
        expected = all(t.low <= d.truth[t.property] <= t.high for t in counterfactual.targets)
        assert d.truth_meets == expected
    assert [m.method for m in counterfactual.methods] == ["nsga2", "random"]
    assert counterfactual.methods[1].evaluations == counterfactual.methods[0].evaluations


def test_free_design_is_diverse_and_meets_targets(tiny_model, tiny_dataset):
    targets = [_range(tiny_dataset, "ph", 0.3, 0.7)]
    result = design(tiny_model, tiny_dataset, targets, DesignConfig(**FAST))
    assert result.feasible and all(d.meets for d in result.designs)
    assert result.diversity.distinct_ingredient_sets >= 4
    assert result.diversity.mean_pairwise_distance > 0
    frame = result.frame()
    assert frame.groupby("formulation_id")["amount"].sum().to_numpy() == pytest.approx(
        result.space["total"], abs=1e-6)


def test_infeasible_returns_the_nearest_designs_with_their_distance(tiny_model, tiny_dataset):
    ph = tiny_dataset.measurements.query("property == 'ph'")["value"]
    target = f"ph={ph.max():.6g}+-0"  # a single point at the edge of the data
    result = design(tiny_model, tiny_dataset, [target], DesignConfig(**FAST))
    assert not result.feasible
    assert len(result) == 6
    distances = [d.target_distance["ph"] for d in result.designs]
    assert all(x > 0 for x in distances)
    assert distances == sorted(distances)


@pytest.mark.parametrize("options, words", [
    ({"start": "no-such-recipe"}, "not in the dataset"),
    ({"max_changes": 2}, "needs a start recipe"),
    ({"forbidden": ("no-such-ingredient",)}, "does not know"),
])
def test_bad_options(tiny_model, tiny_dataset, options, words):
    with pytest.raises(DesignError, match=words):
        design(tiny_model, tiny_dataset, [_range(tiny_dataset, "ph", 0.3, 0.7)],
               DesignConfig(**FAST, **options))


def test_change_shapley_matches_shap_exact_explainer(tiny_model, tiny_dataset):
    """The change game solved by enumeration agrees with shap's ExactExplainer on the same
    value function (coalitions of changes applied to the start recipe, batched model)."""
    with warnings.catch_warnings():  # shap's import-time colour-map deprecations
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    start = tiny_dataset.formulation_ids[2]
    space = build_space(tiny_model, tiny_dataset, start=start)
    targets = check_targets(["ph=4..7", "stability=20..90"], model_properties=tiny_model.properties,
                            observed={"ph": np.array([1.0, 9.0]), "stability": np.array([0, 100])},
                            transforms={})
    scorer = Scorer(tiny_model, space, targets)
    rng = np.random.default_rng(0)
    x = space.start.copy()
    held = np.flatnonzero((x > 0) & ~space.banned)
    held = held[held != space.balance]
    x[held[:3]] *= 1.5  # three amounts changed
    x[held[3]] = 0.0  # one removed
    absent = np.flatnonzero((x == 0) & ~space.banned & (space.start == 0))
    x[rng.choice(absent, 2, replace=False)] = 0.5  # two added
    x[space.balance] = 0.0
    x[space.balance] = space.total - x.sum()
    players = change_players(space, x)
    assert len(players) == 6

    ours = change_shapley(scorer, x)
    assert ours["exact"]
    for p, prop in enumerate(["ph", "stability"]):
        def f(z, prop=prop):
            recipes = coalition_recipes(space, x, players, np.asarray(z) > 0.5)
            return scorer.predict_z(recipes, [prop])[:, 0]

        masker = shap.maskers.Independent(np.zeros((1, len(players))), max_samples=1)
        reference = shap.ExactExplainer(f, masker)(np.ones((1, len(players))))
        np.testing.assert_allclose(ours["values"][p], reference.values[0], atol=1e-5)
