from dataclasses import replace
from itertools import permutations
from math import factorial
from types import SimpleNamespace

import numpy as np
import pytest

from models.data import load_dataset
from models.encoding import Encoder
from models.synth import generate, oracle_predict, write_dataset
from xai.attribution.interactions import Interactions
from xai.cases import make_cases
from xai.truth.attribution_scores import interaction_hits, oracle_shapley, truth_scores


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    write_dataset(generate(seed=0, n_formulations=40), root / "data")
    dataset = load_dataset(root / "data")
    rows = list(dataset.measurements[["formulation_id", "property", "value"]].itertuples(
        index=False, name=None))
    encoder = Encoder.fit(dataset.recipes(), rows, dataset.property_transforms(),
                          max_ingredients=64)
    model = SimpleNamespace(encoder=encoder, properties=encoder.properties)
    recipes = dataset.recipes()
    small = sorted(recipes, key=lambda f: len(recipes[f][0]))[:6]
    cases = make_cases(model, dataset, small, ["viscosity_4pin_10rpm", "ph", "stability"])
    return dataset, model, cases


def brute_force_shapley(truth, model, names, amounts, prop, players, balance=None):
    """Shapley values by averaging marginal contributions over every permutation."""
    n = len(players)

    def value(coalition):
        keep = [j for j in range(len(names)) if j not in players or j in coalition]
        sub = np.array([amounts[j] for j in keep])
        if balance is not None:
            sub[keep.index(balance)] += sum(amounts[j] for j in players if j not in coalition)
        raw = oracle_predict(truth, [[names[j] for j in keep]], [sub], prop)
        return model.encoder.to_standard([prop], raw)[0]

    phi = np.zeros(n)
    for order in permutations(range(n)):
        inside = set()
        before = value(inside)
        for p in order:
            inside.add(players[p])
            after = value(inside)
            phi[p] += after - before
            before = after
    return phi / factorial(n)


@pytest.mark.parametrize("absence", ["removed", "balance"])
def test_oracle_shapley_matches_brute_force(setup, absence):
    dataset, model, cases = setup
    truth = dataset.truth
    oracle = oracle_shapley(model, cases, truth, absence=absence, max_players=12)
    assert oracle.enumerated.all()
    # efficiency: the values add up to oracle(recipe) - oracle(baseline recipe)
    np.testing.assert_allclose(np.nansum(oracle.values, 1), oracle.prediction - oracle.baseline,
                               atol=1e-9)
    i = int(np.argmin([len(n) for n in cases.ingredients]))
    names, amounts = cases.ingredients[i], cases.raw_amounts[i]
    assert len(names) <= 7
    prop = cases.properties[i]
    water = names.index(truth["balance_ingredient"])
    players = [j for j in range(len(names)) if absence == "removed" or j != water]
    expected = brute_force_shapley(truth, model, names, amounts, prop, players,
                                   balance=water if absence == "balance" else None)
    np.testing.assert_allclose(oracle.values[i, players], expected, atol=1e-9)
    full = oracle_predict(truth, [list(names)], [amounts], prop)
    assert oracle.prediction[i] == pytest.approx(model.encoder.to_standard([prop], full)[0])


def test_oracle_leaves_large_recipes_out(setup):
    dataset, model, cases = setup
    oracle = oracle_shapley(model, cases, dataset.truth, max_players=5)
    sizes = np.array([len(n) for n in cases.ingredients])
    assert oracle.enumerated.tolist() == (sizes <= 5).tolist()
    assert np.isnan(oracle.values[sizes > 5]).all()


def test_scores_of_the_oracle_itself_and_its_opposite(setup):
    dataset, model, cases = setup
    oracle = oracle_shapley(model, cases, dataset.truth)
    same = replace(oracle, method="same")
    flipped = replace(oracle, method="flipped", values=-oracle.values)
    scores = truth_scores(model, cases, dataset.truth, [same, flipped], oracle=oracle)
    for prop, entry in scores.attribution["same"]["per_property"].items():
        assert entry["spearman_mean"] == pytest.approx(1.0), prop
        assert entry["sign_agreement"] == pytest.approx(1.0)
        assert entry["top1_match"] == pytest.approx(1.0)
    overall = scores.attribution["flipped"]["overall"]
    # a case whose oracle values are all equal has no ranking to agree with
    ranked = sum(np.nanstd(row) > 0 for row in oracle.values)
    assert 0 < ranked <= len(cases)
    assert overall["spearman_mean"] == pytest.approx(-1.0) and overall["n_cases"] == ranked
    assert scores.to_dict()["settings"]["n_enumerated"] == len(cases)
    assert set(scores.main_effects["same"]) == set(cases.properties)
    with pytest.raises(ValueError, match="absence"):
        truth_scores(model, cases, dataset.truth, [same, replace(flipped, absence="zero")])


def test_interaction_hits_by_hand():
    truth = {
        "families": {"A": "carbomer", "B": "neutraliser", "C": "wax", "D": "wax"},
        "interactions": [{"property": "visc", "families": ["carbomer", "neutraliser"],
                          "description": "gel"}],
    }
    first = np.zeros((4, 4))
    second = np.zeros((4, 4))
    for block, strengths in ((first, {(0, 1): 5, (2, 3): 1, (0, 2): 0.5, (1, 3): 0.2}),
                             (second, {(2, 3): 5, (0, 2): 4, (1, 3): 3, (0, 1): 0.1})):
        for (a, b), v in strengths.items():
            block[a, b] = block[b, a] = v / 2  # each side holds half the pair's interaction
    interactions = Interactions(
        formulation_ids=("F1", "F2"), properties=("visc", "visc"),
        ingredients=(("A", "B", "C", "D"),) * 2, values=np.stack([first, second]),
    )
    (hit,) = interaction_hits(interactions, truth, top_k=3)
    assert hit["n_cases"] == 2 and hit["hit_rate"] == 0.5
    assert hit["chance_rate"] == pytest.approx(1 - 10 / 20)  # 1 matching pair of 6, 3 drawn
    # family pairs by mean |pair|: wax-wax (5+1)/2=3, carbomer-wax (0.5+4+0+0)/4,
    # neutraliser-wax (0+0.2+3+0)/4, carbomer-neutraliser (5+0.1)/2=2.55
    assert hit["family_pair_rank"] == 2 and hit["n_family_pairs"] == 4
