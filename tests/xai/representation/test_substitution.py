import copy
import json
from collections import Counter

import numpy as np
import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from xai.cases import Cases
from xai.representation.substitution import ingredient_substitution, substituted_predictions

FEW = ("ph", "viscosity_4pin_10rpm")


def tiny_mixer():
    config = MixerConfig(n_ingredients=10, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=2)
    return build_mixer(config, seed=0).eval()


def tiny_cases():
    ids = torch.tensor([[3, 5, 7, 0], [1, 2, 4, 6], [8, 3, 0, 0], [3, 5, 0, 0]])
    amounts = torch.tensor([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4], [0.6, 0.4, 0.0, 0.0],
                            [0.9, 0.1, 0.0, 0.0]])
    mask = ids != 0
    return Cases(
        formulation_ids=("F0", "F1", "F2", "F3"), properties=("p", "q", "p", "q"),
        ingredients=tuple(tuple(f"I{int(j)}" for j in row if j) for row in ids),
        raw_amounts=tuple(np.asarray(a[m]) for a, m in zip(amounts, mask, strict=True)),
        property_ids=torch.tensor([0, 1, 0, 1]), ids=ids, amounts=amounts, mask=mask,
        balance_slot=torch.full((4,), -1), measured=np.full(4, np.nan),
    )


def plain(mixer, cases):
    with torch.no_grad():
        return mixer(cases.property_ids, cases.ids, cases.amounts, cases.mask).numpy()


def test_swapping_an_ingredient_for_itself_changes_nothing():
    mixer, cases = tiny_mixer(), tiny_cases()
    out = substituted_predictions(mixer, cases, 3, [3, 3], batch_size=3)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out[0], plain(mixer, cases), atol=1e-6)
    np.testing.assert_allclose(out[1], out[0], atol=1e-6)


def test_swap_equals_a_model_whose_table_row_was_overwritten():
    mixer, cases = tiny_mixer(), tiny_cases()
    out = substituted_predictions(mixer, cases, 3, [5, 9], batch_size=3)  # batches of mixed length
    for row, donor in enumerate([5, 9]):
        edited = copy.deepcopy(mixer)
        with torch.no_grad():
            edited.ingredient_embedding.weight[3] = edited.ingredient_embedding.weight[donor]
        np.testing.assert_allclose(out[row], plain(edited, cases), atol=1e-5)
    untouched = ~(cases.ids == 3).any(1).numpy()  # F1 holds no ingredient 3
    np.testing.assert_allclose(out[:, untouched], np.tile(plain(mixer, cases)[untouched], (2, 1)),
                               atol=1e-6)
    assert np.abs(out[0] - plain(mixer, cases))[~untouched].max() > 1e-4


@pytest.fixture(scope="module")
def result(tiny_model, tiny_dataset):
    return ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test, n_random=5,
                                   n_frequent=4, properties=(*FEW, "stability"),
                                   n_bootstrap=100, seed=0)


def test_swaps_cover_expert_and_frequent_ingredients(result, tiny_model, tiny_dataset):
    recipes = tiny_dataset.recipes()
    here = Counter(c for f in tiny_model.split.test for c in set(recipes[f][0]))
    runnable = {a for a, b in tiny_dataset.substitutions.itertuples(index=False)
                if here[a] > 0 and not any(s["ingredient"] == a and s["donor"] == b
                                           for s in result.skipped)}
    experts = {s.ingredient for s in result.swaps if s.donor_kind == "expert"}
    assert experts == runnable and experts
    top = sorted(here, key=lambda c: (-here[c], c))[:4]
    nearest = {s.ingredient for s in result.swaps if s.donor_kind == "nearest"}
    assert nearest == set(top) | runnable
    n_props = 3
    for a in nearest:
        rows = [s for s in result.swaps if s.ingredient == a and s.donor_kind == "nearest"]
        assert len(rows) == n_props
        assert all(s.n_cases == here[a] for s in rows)  # every recipe x every property


def test_row_values_match_an_edited_model(result, tiny_model, tiny_dataset):
    swap = max((s for s in result.swaps if s.donor_kind == "expert"), key=lambda s: s.n_measured)
    enc = tiny_model.encoder
    edited = copy.deepcopy(tiny_model)
    with torch.no_grad():
        table = edited.mixer.ingredient_embedding.weight
        table[enc.ingredient_id(swap.ingredient)] = table[enc.ingredient_id(swap.donor)]
    recipes = tiny_dataset.recipes()
    fids = [f for f in tiny_model.split.test if swap.ingredient in recipes[f][0]]
    rs = [recipes[f] for f in fids]
    props = [swap.property] * len(fids)
    before = tiny_model.predict(rs, props)
    after = edited.predict(rs, props)
    assert swap.mean_change_original == pytest.approx(np.mean(after - before), rel=1e-4, abs=1e-6)
    z = edited.predict(rs, props, standardised=True) - tiny_model.predict(
        rs, props, standardised=True)
    assert swap.mean_change == pytest.approx(z.mean(), rel=1e-4, abs=1e-6)
    assert swap.change_low <= swap.mean_change <= swap.change_high
    m = tiny_dataset.measurements
    y = m[m["property"] == swap.property].groupby("formulation_id")["value"].mean()
    measured = [i for i, f in enumerate(fids) if f in y.index]
    assert swap.n_measured == len(measured)
    if measured:
        truth = y.loc[[fids[i] for i in measured]].to_numpy()
        expected = np.abs(after[measured] - truth) - np.abs(before[measured] - truth)
        assert swap.error_change == pytest.approx(expected.mean(), rel=1e-4, abs=1e-6)


def test_a_donor_with_an_identical_vector_is_nearest_changes_nothing_and_beats_random(
    tiny_model, tiny_dataset
):
    model = copy.deepcopy(tiny_model)
    enc = model.encoder
    recipes = tiny_dataset.recipes()
    here = Counter(c for f in model.split.test for c in set(recipes[f][0]))
    a = sorted(here, key=lambda c: (-here[c], c))[1]
    trained = {c for f in model.split.train for c in recipes[f][0]}
    twin = next(c for c in enc.ingredients if c != a and c in trained)
    with torch.no_grad():
        table = model.mixer.ingredient_embedding.weight
        table[enc.ingredient_id(twin)] = table[enc.ingredient_id(a)]
    out = ingredient_substitution(model, tiny_dataset, model.split.test, donors=("nearest",
                                  "random"), n_random=9, n_frequent=2, properties=FEW,
                                  n_bootstrap=50)
    rows = [s for s in out.swaps if s.ingredient == a and s.donor_kind == "nearest"]
    assert rows and all(s.donor == twin and s.distance == 0.0 for s in rows)
    assert all(abs(s.mean_change) < 1e-6 and s.mean_abs_change < 1e-6 for s in rows)
    pooled = next(r for r in out.per_ingredient
                  if r["ingredient"] == a and r["donor_kind"] == "nearest")
    assert pooled["p_value"] == pytest.approx(1 / 10)  # below all 9 random donors
    assert len(out.random_donors[a]) == 9


def test_nearest_donor_is_the_closest_trained_ingredient(result, tiny_model, tiny_dataset):
    recipes = tiny_dataset.recipes()
    trained = sorted({c for f in tiny_model.split.train for c in recipes[f][0]})
    table = tiny_model.mixer.ingredient_table().detach().numpy()
    enc = tiny_model.encoder
    for s in result.swaps:
        if s.donor_kind != "nearest":
            continue
        others = [c for c in trained if c != s.ingredient]
        d = np.linalg.norm(table[[enc.ingredient_id(c) - 1 for c in others]]
                           - table[enc.ingredient_id(s.ingredient) - 1], axis=1)
        assert s.donor == others[int(np.argmin(d))]
        assert s.distance == pytest.approx(d.min(), rel=1e-5)


def test_same_group_and_random_donors(tiny_model, tiny_dataset):
    groups = tiny_dataset.ingredient_groups()
    out = ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                  donors=("same_group", "random"), n_random=6, n_frequent=5,
                                  random_pool="other_groups", properties=FEW,
                                  n_bootstrap=50, seed=4)
    same = [s for s in out.swaps if s.donor_kind == "same_group"]
    assert same and all(groups[s.donor] == groups[s.ingredient] and s.donor != s.ingredient
                        for s in same)
    for a, donors in out.random_donors.items():
        assert len(donors) == len(set(donors)) == 6
        assert all(groups[b] != groups[a] for b in donors)
    again = ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                    donors=("random",), n_random=6, n_frequent=5,
                                    random_pool="other_groups", properties=FEW,
                                  n_bootstrap=50, seed=4)
    assert again.random_donors == out.random_donors
    other = ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                    donors=("random",), n_random=6, n_frequent=5,
                                    random_pool="other_groups", properties=FEW,
                                  n_bootstrap=50, seed=5)
    assert other.random_donors != out.random_donors


def test_headline_and_serialisation(result):
    head = result.headline
    assert set(head["kinds"]) == {"expert", "nearest", "same_group", "random"}
    assert set(head["versus_random"]) == {"expert", "nearest", "same_group"}
    for kind, test in head["versus_random"].items():
        assert test["n"] == head["kinds"][kind]["n_ingredients"]
        assert -1 <= test["effect_size"] <= 1 and 0 < test["p_value"] <= 1
    p = [s.p_value for s in result.swaps if s.donor_kind != "random"]
    assert all(1 / 6 - 1e-12 <= v <= 1 for v in p)  # (1 + k) / (1 + 5)
    assert all(np.isnan(s.p_value) for s in result.swaps if s.donor_kind == "random")
    random_rows = [s for s in result.swaps if s.donor_kind == "random"]
    assert random_rows and all(s.n_donors == 5 and s.donor == "" for s in random_rows)
    text = json.dumps(result.to_dict())
    assert json.loads(text)["settings"]["n_random"] == 5


def test_bad_arguments(tiny_model, tiny_dataset):
    with pytest.raises(ValueError, match="donor kinds"):
        ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                donors=("closest",))
    with pytest.raises(ValueError, match="random_pool"):
        ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                random_pool="some")


def test_default_cases_are_the_measured_pairs(tiny_model, tiny_dataset):
    out = ingredient_substitution(tiny_model, tiny_dataset, tiny_model.split.test,
                                  donors=("nearest",), n_frequent=3, n_bootstrap=20)
    m = tiny_dataset.measurements
    m = m[m["formulation_id"].isin(set(tiny_model.split.test))]
    recipes = tiny_dataset.recipes()
    assert out.swaps
    for s in out.swaps:
        pairs = m.loc[m["property"] == s.property, "formulation_id"].unique()
        assert s.n_cases == s.n_measured == sum(s.ingredient in recipes[f][0] for f in pairs)


def test_frame_has_one_row_per_swap(result):
    frame = result.to_frame()
    assert len(frame) == len(result.swaps)
    for i in (0, len(result.swaps) - 1):
        swap = result.swaps[i]
        assert frame.iloc[i]["ingredient"] == swap.ingredient
        assert frame.iloc[i]["donor_kind"] == swap.donor_kind
        assert frame.iloc[i]["mean_abs_change"] == swap.mean_abs_change
