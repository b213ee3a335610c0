"""Every recipe the operators and the repair produce is valid, whatever goes in.

A seeded property-based loop: 200 seeds, each throwing random vectors (dense, sparse, negative,
non-finite, far out of range) and offspring of sampling, crossover and mutation at the repair,
in four design spaces (free, counterfactual with at most 2 changes, constrained, no balance
ingredient).
"""

from __future__ import annotations

import numpy as np
import pytest

from xai.inverse.operators import crossover, mutate, repair, sample
from xai.inverse.problem import build_space, check_recipe


@pytest.fixture(scope="module")
def spaces(tiny_model, tiny_dataset):
    counts = tiny_dataset.formulations["ingredient"].value_counts()
    common = counts.index[1:6].tolist()  # after the balance ingredient
    start = tiny_dataset.formulation_ids[3]
    return {
        "free": build_space(tiny_model, tiny_dataset),
        "counterfactual": build_space(tiny_model, tiny_dataset, start=start, max_changes=2),
        "constrained": build_space(tiny_model, tiny_dataset, forbidden=common[:2],
                                   fixed={common[2]: 1.0},
                                   max_ingredients=12),
        "no_balance": build_space(tiny_model, tiny_dataset, balance="not-an-ingredient"),
    }


def _random_vectors(space, rng, n=8):
    V = space.n_vars
    dense = rng.uniform(0, 2, (n, V)) * space.high
    sparse = dense * (rng.random((n, V)) < 0.15)
    wild = rng.normal(0, 50, (n, V))
    wild[rng.random((n, V)) < 0.05] = np.nan
    wild[rng.random((n, V)) < 0.02] = np.inf
    return np.concatenate([dense, sparse, wild, np.zeros((1, V))])


@pytest.mark.parametrize("name", ["free", "counterfactual", "constrained", "no_balance"])
def test_every_recipe_is_valid_over_many_seeds(spaces, name):
    space = spaces[name]
    checked = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        parents = sample(space, 6, rng)
        a, b = crossover(space, parents[:3], parents[3:], rng)
        offspring = [parents, repair(space, mutate(space, np.concatenate([a, b]), rng), rng),
                     repair(space, _random_vectors(space, rng), rng)]
        for x in np.concatenate(offspring):
            problems = check_recipe(space, x)
            assert problems == [], (name, seed, problems)
            checked += 1
    assert checked == 200 * (6 + 6 + 25)


def test_counterfactual_changes_are_capped(spaces):
    space = spaces["counterfactual"]
    x = sample(space, 300, np.random.default_rng(0))
    changed = space.changed(x).sum(1)
    assert changed.max() <= 2 and changed.max() >= 1


def test_constraints_hold(spaces):
    space = spaces["constrained"]
    x = sample(space, 300, np.random.default_rng(1))
    assert not (x[:, space.banned] > 0).any()
    assert np.allclose(x[:, space.fixed], space.fixed_amount[space.fixed])
    assert ((x > 0).sum(1) <= 12).all()


def test_repair_keeps_valid_recipes(spaces):
    space = spaces["free"]
    x = sample(space, 50, np.random.default_rng(2))
    assert np.allclose(repair(space, x, np.random.default_rng(3)), x)


def test_crossover_exchanges_ingredients_and_keeps_the_pool(spaces):
    space = spaces["free"]
    rng = np.random.default_rng(4)
    a, b = sample(space, 40, rng), sample(space, 40, rng)
    c, d = crossover(space, a, b, rng)
    # each child amount comes from one of the parents, and together they keep both
    assert np.all((c == a) | (c == b)) and np.all((d == a) | (d == b))
    assert np.allclose(c + d, a + b)
    assert (c != a).any()
