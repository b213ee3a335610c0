"""The shared result base: indexing, select and to_frame line values up with their cases.

Each result type is computed twice on toy cases with a small Mixer: once on all cases and
sliced, once directly on the subset. A slice that mixed up rows, slots or headers would differ.
"""

import numpy as np
import pytest

from models.mixer import MixerConfig, build_mixer
from xai.attention.maps import AttentionMaps, attention_maps
from xai.attribution.integrated_gradients import integrated_gradients
from xai.attribution.interactions import Interactions
from xai.attribution.results import Attribution
from xai.attribution.shapley import shapley_interactions, shapley_values
from xai.cases import random_cases
from xai.results import CaseResults

SIZES = (4, 6, 3, 5, 2)
ROWS = [3, 0, 2]  # unsorted on purpose: order must follow the index


@pytest.fixture(scope="module")
def cases():
    return random_cases(SIZES, (0, 2, -1, 4, -1), seed=3)


@pytest.fixture(scope="module")
def mixer():
    config = MixerConfig(n_ingredients=21, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=4, head_hidden=8)
    return build_mixer(config, seed=5).eval()


def compute(kind, mixer, cases):
    if kind == "shapley":
        return shapley_values(mixer, cases, exact_max=5, n_permutations=8, seed=0)
    if kind == "ig":
        return integrated_gradients(mixer, cases, max_steps=32)
    if kind == "interactions":
        return shapley_interactions(mixer, cases, max_players=5)
    return attention_maps(mixer, cases)


KINDS = ("shapley", "ig", "interactions", "attention")


def assert_same(a, b):
    """Two results of one type hold the same cases, headers and arrays."""
    assert type(a) is type(b) and len(a) == len(b)
    assert a.formulation_ids == b.formulation_ids and a.properties == b.properties
    assert a.ingredients == b.ingredients
    for name in type(a)._per_case:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
        elif isinstance(x, tuple):
            assert len(x) == len(y)
            for u, v in zip(x, y, strict=True):
                np.testing.assert_allclose(u, v, err_msg=name)
        else:
            assert x.shape == y.shape, name
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_subset_equals_recomputing_on_the_subset(kind, mixer, cases):
    full = compute(kind, mixer, cases)
    assert isinstance(full, CaseResults) and len(full) == len(SIZES)
    assert_same(full[ROWS], compute(kind, mixer, cases.select(ROWS)))
    assert_same(full[np.array(ROWS)], full[ROWS])


@pytest.mark.parametrize("kind", KINDS)
def test_int_slice_and_mask(kind, mixer, cases):
    full = compute(kind, mixer, cases)
    one = full[1]
    assert len(one) == 1 and one.formulation_ids == ("F1",) and one.ingredients[0] == \
        cases.ingredients[1]
    assert_same(one, compute(kind, mixer, cases.select([1])))
    assert_same(full[-1], full[len(SIZES) - 1])
    first = full[:3]
    assert first.formulation_ids == ("F0", "F1", "F2")
    assert_same(first, compute(kind, mixer, cases.select([0, 1, 2])))
    mask = np.array([True, False, True, False, True])
    assert_same(full[mask], full[[0, 2, 4]])
    assert len(full[[]]) == 0
    with pytest.raises(IndexError):
        full[len(SIZES)]


@pytest.mark.parametrize("kind", KINDS)
def test_select_by_formulation_and_property(kind, mixer, cases):
    full = compute(kind, mixer, cases)
    # random_cases alternates properties p0, p1
    picked = full.select(formulations=["F4", "F1", "F2"], properties=["p0"])
    assert picked.formulation_ids == ("F2", "F4") and picked.properties == ("p0", "p0")
    assert_same(picked, full[[2, 4]])
    assert_same(full.select(properties="p1"), full[[1, 3]])
    assert_same(full.select(), full[:])
    with pytest.raises(KeyError, match="F9"):
        full.select(formulations=["F9"])


def test_attribution_frame_lines_up(mixer, cases):
    ex = compute("shapley", mixer, cases)
    frame = ex.to_frame()
    assert len(frame) == sum(SIZES)
    for i in range(len(ex)):
        rows = frame[(frame["formulation_id"] == ex.formulation_ids[i])
                     & (frame["property"] == ex.properties[i])]
        assert rows["ingredient"].tolist() == list(ex.ingredients[i])
        np.testing.assert_allclose(rows["attribution"], ex.row(i))
        np.testing.assert_allclose(rows["amount"], cases.raw_amounts[i])
        assert (rows["prediction"] == ex.prediction[i]).all()
    sub = ex[[4, 1]].to_frame()
    assert sub["formulation_id"].unique().tolist() == ["F4", "F1"]
    np.testing.assert_allclose(sub["attribution"],
                               np.r_[ex.row(4), ex.row(1)])


def test_attribution_diagnostics_are_sliced(mixer, cases):
    shap = shapley_values(mixer, cases, exact_max=4, n_permutations=8, seed=0,
                          sampler="permutation")
    assert shap.exact.tolist() == [True, False, True, False, True]
    part = shap[[1, 2]]
    assert part.exact.tolist() == [False, True]
    assert part.n_players.tolist() == shap.n_players[[1, 2]].tolist()
    assert part.permutations.tolist() == shap.permutations[[1, 2]].tolist()
    np.testing.assert_allclose(part.max_std_error, shap.max_std_error[[1, 2]])
    assert part.n_steps is None and part.settings == shap.settings
    assert part.coalitions.tolist() == shap.coalitions[[1, 2]].tolist()
    assert set(shap.diagnostics()) == {"exact", "permutations", "coalitions", "n_players",
                                       "max_std_error"}
    ig = integrated_gradients(mixer, cases, max_steps=32)
    assert set(ig.diagnostics()) == {"n_steps", "converged", "delta"}
    np.testing.assert_allclose(ig[3:].delta, ig.delta[3:])
    assert ig[3:].n_steps.tolist() == ig.n_steps[3:].tolist()


def test_interactions_frame_lines_up(mixer, cases):
    inter = compute("interactions", mixer, cases)
    frame = inter.to_frame()
    assert len(frame) == sum(n * (n - 1) // 2 for n in SIZES)
    case = frame[frame["formulation_id"] == "F2"]  # 3 ingredients: 3 pairs
    names = cases.ingredients[2]
    assert list(zip(case["ingredient_a"], case["ingredient_b"], strict=True)) == [
        (names[0], names[1]), (names[0], names[2]), (names[1], names[2])]
    np.testing.assert_allclose(case["interaction"].iloc[1], 2 * inter.values[2, 0, 2])
    np.testing.assert_allclose(case["main_effect_b"].iloc[2], inter.values[2, 2, 2])
    # F1 has 6 players, more than max_players=5: listed, but NaN
    assert frame[frame["formulation_id"] == "F1"]["interaction"].isna().all()
    assert inter[1].enumerated.tolist() == [False]


def test_attention_frame_lines_up(mixer, cases):
    maps = compute("attention", mixer, cases)
    frame = maps.to_frame()
    layers, heads = maps.weights.shape[1:3]
    assert len(frame) == sum(layers * heads * (n + 1) ** 2 for n in SIZES)
    one = maps[2]
    assert one.weights.shape[-1] == SIZES[2] + 1 and one.tokens[0][0] == "[property]"
    part = frame[frame["formulation_id"] == "F2"]
    row = part[(part["layer"] == 1) & (part["head"] == 3) & (part["query"] == "[property]")
               & (part["key"] == cases.ingredients[2][1])]
    assert float(row["weight"].iloc[0]) == pytest.approx(float(maps.weights[2, 1, 3, 0, 2]))
    np.testing.assert_allclose(one.rollout()[0], maps.rollout()[2, :4, :4], atol=1e-12)


def test_hand_built_results_slice_without_a_model():
    nan = np.nan
    att = Attribution(
        method="ig", absence="removed", formulation_ids=("A", "B", "C"),
        properties=("ph", "ph", "visc"), ingredients=(("w", "x"), ("w", "x", "y"), ("z",)),
        raw_amounts=(np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.array([6.0])),
        values=np.array([[0.1, 0.2, nan], [0.3, 0.4, 0.5], [0.6, nan, nan]]),
        prediction=np.array([1.0, 2.0, 3.0]), baseline=np.zeros(3),
        converged=np.array([True, False, True]),
    )
    c = att.select(properties=["visc"])
    assert c.values.shape == (1, 1) and c.values[0, 0] == 0.6 and c.raw_amounts[0][0] == 6.0
    assert c.converged.tolist() == [True] and c.prediction.tolist() == [3.0]
    inter = Interactions(formulation_ids=("A", "B"), properties=("ph", "ph"),
                         ingredients=(("w",), ("w", "x")), values=np.arange(8.0).reshape(2, 2, 2))
    assert inter[0].values.shape == (1, 1, 1) and inter[0].values[0, 0, 0] == 0.0
    assert inter[1].values.tolist() == [[[4.0, 5.0], [6.0, 7.0]]]
    maps = AttentionMaps(formulation_ids=("A", "B"), properties=("ph", "ph"),
                         ingredients=(("w",), ("w", "x")),
                         weights=np.arange(2 * 9.0).reshape(2, 1, 1, 3, 3),
                         mask=np.array([[True, True, False], [True, True, True]]))
    assert maps[0].weights.shape == (1, 1, 1, 2, 2)
    assert maps[0].mask.tolist() == [[True, True]]


def test_attention_summary_frame_has_one_row_per_case(mixer, cases):
    from xai.attention.maps import attention_summary

    summary = attention_summary(mixer, cases)
    frame = summary.to_frame()
    assert frame["formulation_id"].tolist() == list(cases.formulation_ids)
    np.testing.assert_allclose(frame["rollout_share"], summary.rollout_share)
    np.testing.assert_allclose(frame["layer_share_1"], summary.layer_share[:, 1])


def test_repr_is_one_line(mixer, cases):
    ex = compute("shapley", mixer, cases)
    text = repr(ex[:3])
    assert text == ("<Attribution: 3 cases, 3 formulations x [p0, p1], "
                    "method='shapley', absence='removed'>")
    assert repr(compute("attention", mixer, cases)).startswith("<AttentionMaps: 5 cases")
    assert repr(ex[0]).startswith("<Attribution: 1 case, 1 formulation x [p0]")
