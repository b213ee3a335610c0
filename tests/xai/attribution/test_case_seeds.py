"""Sampled Shapley values draw from a generator per case: a case's permutations do not depend on
the other cases in the call or on their order."""

import numpy as np

from xai.attribution.case_seeds import case_rng, stable_hash
from xai.attribution.shapley import shapley_values
from xai.cases import make_cases


def test_stable_hash_is_a_fixed_function_of_the_name():
    assert stable_hash("F1") == stable_hash("F1") != stable_hash("F2")
    # blake2b, not Python's salted hash: the same number in every process
    assert stable_hash("") == 0xB4B2797457A0A6E4
    a = case_rng(0, "F1", "ph").random(3)
    assert np.array_equal(a, case_rng(0, "F1", "ph").random(3))
    assert not np.array_equal(a, case_rng(0, "F1", "viscosity").random(3))
    assert not np.array_equal(a, case_rng(1, "F1", "ph").random(3))


def test_a_case_samples_the_same_permutations_whatever_else_runs(tiny_model, tiny_dataset):
    cases = make_cases(tiny_model, tiny_dataset, list(tiny_model.split.test)[:6])
    kwargs = {"exact_max": 0, "n_permutations": 6, "seed": 4}
    together = shapley_values(tiny_model.mixer, cases, **kwargs)
    reversed_rows = np.arange(len(cases))[::-1].copy()
    backwards = shapley_values(tiny_model.mixer, cases.select(reversed_rows), **kwargs)
    alone = shapley_values(tiny_model.mixer, cases.select([2]), **kwargs)
    width = alone.values.shape[1]
    # float32 batches may round differently; the permutations are the same, so values agree
    # far below their standard errors
    np.testing.assert_allclose(alone.values[0], together.values[2, :width], atol=1e-6)
    np.testing.assert_allclose(backwards.values[::-1][2, :width], together.values[2, :width],
                               atol=1e-6)
    other_seed = shapley_values(tiny_model.mixer, cases.select([2]), **{**kwargs, "seed": 5})
    assert not np.allclose(other_seed.values, alone.values, atol=1e-6)
