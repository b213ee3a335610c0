"""Stability of attributions across ensemble members, and sign disagreement between methods."""

from itertools import combinations

import numpy as np
import pytest
import torch
from scipy import stats

from xai.absence import Absence
from xai.attribution.results import Attribution
from xai.cases import Cases
from xai.checks.stability import (
    DISAGREEMENT_SHARE,
    MIN_RANK_CORRELATION,
    MIN_RECIPES,
    member_stability,
    non_negligible,
    opposite_signs,
    sign_disagreement,
)


def recipes(n: int, names=("A", "B", "C"), prop: str = "p") -> Cases:
    """``n`` cases of property ``prop``, each recipe holding ``names`` in that slot order."""
    width = len(names)
    ids = torch.arange(1, width + 1).repeat(n, 1)
    return Cases(
        formulation_ids=tuple(f"F{i}" for i in range(n)), properties=(prop,) * n,
        ingredients=(tuple(names),) * n, raw_amounts=(np.ones(width),) * n,
        property_ids=torch.zeros(n, dtype=torch.long), ids=ids,
        amounts=torch.ones(n, width), mask=torch.ones(n, width, dtype=torch.bool),
        balance_slot=torch.full((n,), -1), measured=np.full(n, np.nan),
    )


def attribution(cases: Cases, values, method: str = "shapley_exact",
                settings: dict | None = None) -> Attribution:
    values = np.asarray(values, dtype=float)
    n = len(values)
    return Attribution(method=method, absence=Absence.removed(),
                       formulation_ids=cases.formulation_ids, properties=cases.properties,
                       ingredients=cases.ingredients, raw_amounts=cases.raw_amounts,
                       values=values, prediction=np.zeros(n), baseline=np.zeros(n),
                       settings=settings or {})


def entry(stability, prop: str, ingredient: str) -> int:
    return next(e for e in range(len(stability))
                if (stability.properties[e], stability.ingredients[e]) == (prop, ingredient))


def test_rank_correlation_is_the_mean_pairwise_spearman_of_scipy():
    rng = np.random.default_rng(0)
    cases = recipes(8)
    members = [rng.normal(size=(8, 3)) for _ in range(4)]
    result = member_stability([attribution(cases, v) for v in members])
    for j, name in enumerate("ABC"):
        expected = np.mean([stats.spearmanr(members[a][:, j], members[b][:, j]).statistic
                            for a, b in combinations(range(4), 2)])
        e = entry(result, "p", name)
        assert result.rank_correlation[e] == pytest.approx(expected, abs=1e-12)
        assert result.n_recipes[e] == 8 and result.rank_reason[e] == ""
    assert result.n_members == 4 and result.method == "shapley_exact"


def test_identical_members_are_stable_and_a_negated_member_flips_every_sign():
    rng = np.random.default_rng(1)
    cases = recipes(MIN_RECIPES + 1)
    values = rng.normal(size=(MIN_RECIPES + 1, 3))
    same = member_stability([attribution(cases, values)] * 3)
    np.testing.assert_allclose(same.rank_correlation, 1.0)
    np.testing.assert_array_equal(same.sign_flip_share, 0.0)
    assert same.stable.all()
    flipped = member_stability([attribution(cases, values), attribution(cases, values),
                                attribution(cases, -values)])
    # pairs: (m, m) = 1, (m, -m) = -1 twice
    np.testing.assert_allclose(flipped.rank_correlation, -1 / 3)
    np.testing.assert_array_equal(flipped.sign_flip_share, 1.0)  # the mean keeps m's sign
    assert not flipped.stable.any()


def test_sign_flips_count_only_values_that_matter_to_their_member():
    cases = recipes(4)
    # slot A; member 3 disagrees in recipes 0 and 1, but in recipe 1 its value is below 10 %
    # of its own largest |value| (slot C), so only recipe 0 flips; in recipe 3 no member's A
    # matters, so recipe 3 is not counted
    m1 = [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.01, 0.0, 1.0]]
    m3 = [[-1.0, 0.0, 1.0], [-0.05, 0.0, 1.0], [1.0, 0.0, 1.0], [0.01, 0.0, 1.0]]
    result = member_stability([attribution(cases, m1), attribution(cases, m1),
                               attribution(cases, m3)])
    e = entry(result, "p", "A")
    assert result.n_signed[e] == 3
    assert result.sign_flip_share[e] == pytest.approx(1 / 3)
    # B is 0 everywhere: nothing counts, the share is undefined, and so is the rank
    b = entry(result, "p", "B")
    assert result.n_signed[b] == 0 and np.isnan(result.sign_flip_share[b])
    assert np.isnan(result.rank_correlation[b]) and "same in every recipe" in result.rank_reason[b]


def test_the_stability_rule_and_its_undefined_cases():
    rng = np.random.default_rng(2)
    few = recipes(2)
    result = member_stability([attribution(few, rng.normal(size=(2, 3))) for _ in range(3)])
    assert np.isnan(result.rank_correlation).all()
    assert all("fewer than 3 recipes" in r for r in result.rank_reason)
    assert not result.stable.any()
    # enough recipes and perfect agreement, but one too few for a verdict
    cases = recipes(MIN_RECIPES - 1)
    values = rng.normal(size=(MIN_RECIPES - 1, 3))
    assert not member_stability([attribution(cases, values)] * 2).stable.any()
    # all positive (no flips): the rank correlation alone decides, on either side of the bar
    cases = recipes(20)
    rising = np.arange(1.0, 21.0)
    shuffled = rising.copy()
    shuffled[[0, 19]] = shuffled[[19, 0]]  # one swap: rho = 1 - 6 * 2 * 19^2 / (20^3 - 20)
    falling = rising[::-1]
    a = np.stack([rising, rising, rising], axis=1)
    b = np.stack([rising, shuffled, falling], axis=1)
    result = member_stability([attribution(cases, a), attribution(cases, b)])
    rho = 1 - 6 * 2 * 19**2 / (20**3 - 20)
    assert result.rank_correlation == pytest.approx([1.0, rho, -1.0])
    assert rho < MIN_RANK_CORRELATION
    np.testing.assert_array_equal(result.sign_flip_share, 0.0)
    assert result.stable.tolist() == [True, False, False]


def test_members_are_grouped_by_property_and_skip_non_players():
    ids = ("A", "B")
    first, second = recipes(3, ids, prop="p"), recipes(3, ("B", "C"), prop="q")
    cases = Cases(
        formulation_ids=first.formulation_ids + second.formulation_ids,
        properties=first.properties + second.properties,
        ingredients=first.ingredients + second.ingredients,
        raw_amounts=first.raw_amounts + second.raw_amounts,
        property_ids=torch.cat([first.property_ids, second.property_ids]),
        ids=torch.cat([first.ids, second.ids]), amounts=torch.cat([first.amounts, second.amounts]),
        mask=torch.cat([first.mask, second.mask]),
        balance_slot=torch.full((6,), -1), measured=np.full(6, np.nan))
    values = np.arange(12, dtype=float).reshape(6, 2) + 1
    values[0, 1] = np.nan  # B in recipe 0 is not a player (e.g. the balance ingredient)
    result = member_stability([attribution(cases, values)] * 2)
    keys = list(zip(result.properties, result.ingredients, strict=True))
    assert keys == [("p", "A"), ("p", "B"), ("q", "B"), ("q", "C")]
    assert result.n_recipes.tolist() == [3, 2, 3, 3]
    d = result.to_dict()
    assert [e["ingredient"] for e in d["per_property"]["q"]] == ["B", "C"]
    assert d["settings"]["min_recipes"] == MIN_RECIPES


def test_members_must_explain_the_same_cases():
    a = attribution(recipes(3), np.ones((3, 3)))
    b = attribution(recipes(4), np.ones((4, 3)))
    with pytest.raises(ValueError, match="same cases"):
        member_stability([a, b])
    with pytest.raises(ValueError, match="at least two"):
        member_stability([a])


def test_non_negligible_is_judged_per_set_and_case():
    values = np.array([[[1.0, 0.05, np.nan]], [[0.01, 0.0005, 0.0]], [[0.0, 0.0, 0.0]]])
    np.testing.assert_array_equal(non_negligible(values), [[[True, False, False]],
                                                           [[True, False, False]],
                                                           [[False, False, False]]])


def test_opposite_signs_uses_the_larger_of_the_two_against_both_scales():
    a = np.array([[1.0, 0.05, -0.2, np.nan]])
    b = np.array([[0.9, -0.01, 0.3, 0.5]])
    # slot 1: opposite but both below 10 % of 1.0; slot 2: opposite and large; slot 3: NaN
    np.testing.assert_array_equal(opposite_signs(a, b), [[False, False, True, False]])


def test_sign_disagreement_flags_an_ingredient_past_half_of_its_recipes():
    n = 6
    cases = recipes(n)
    shap = np.tile([1.0, 1.0, 1.0], (n, 1))
    ig = shap.copy()
    ig[:4, 0] = -1.0  # A: opposite in 4 of 6 recipes
    ig[:2, 1] = -1.0  # B: opposite in 2 of 6
    ig[:, 2] = -0.01  # C: opposite everywhere, but the IG values are negligible ...
    shap[:, 2] = 0.01  # ... and so are Shapley's
    result = sign_disagreement(
        attribution(cases, ig, "ig", {"baseline": "every player's amount at 0"}),
        attribution(cases, shap), names=("ig", "shapley"))
    shares = dict(zip(result.ingredients, result.share, strict=True))
    assert shares["A"] == pytest.approx(4 / 6) and shares["B"] == pytest.approx(2 / 6)
    assert np.isnan(shares["C"])  # no recipe counts
    assert 4 / 6 > DISAGREEMENT_SHARE
    d = result.to_dict()
    assert [(f["property"], f["ingredient"]) for f in d["flagged"]] == [("p", "A")]
    assert "every player's amount at 0" in d["baselines"]["ig"]
    assert "token is removed" in d["baselines"]["shapley"]
    # the same share on fewer recipes than the minimum is not flagged
    small = recipes(MIN_RECIPES - 1)
    few = sign_disagreement(attribution(small, -np.ones((MIN_RECIPES - 1, 3)), "ig"),
                            attribution(small, np.ones((MIN_RECIPES - 1, 3))))
    assert (few.share == 1.0).all() and not few.flagged.any()
