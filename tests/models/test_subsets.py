"""Every-subset predictions against the Mixer's plain forward on each subset's masked recipe."""

import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from models.subsets import SAFE_EXPONENT, SubsetGrid, subset_predictions


def small_mixer(**options):
    config = dict(n_ingredients=21, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                  n_heads=4, head_hidden=8)
    config.update(options)
    return build_mixer(MixerConfig(**config), seed=7).eval()


def recipes(n_recipes, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.stack([torch.randperm(20, generator=g)[:n] + 1 for _ in range(n_recipes)])
    amounts = torch.rand(n_recipes, n, generator=g)
    return torch.randint(0, 2, (n_recipes,), generator=g), ids, amounts / amounts.sum(1, True)


def plain(mixer, property_ids, ids, amounts):
    """(R, 2^n) by the plain forward, one masked recipe per subset (bit j: ingredient j)."""
    R, n = ids.shape
    s = torch.arange(2 ** n)
    mask = ((s[:, None] >> torch.arange(n)) & 1).bool()  # (2^n, n)
    rows = torch.arange(R).repeat_interleave(2 ** n)
    with torch.no_grad():
        out = mixer(property_ids[rows], ids[rows], amounts[rows], mask.repeat(R, 1))
    return out.view(R, 2 ** n)


def fast(mixer, property_ids, ids, amounts):
    states = mixer.token_states(property_ids, ids, amounts)
    return subset_predictions(mixer, states)


@pytest.mark.parametrize("options", [
    {},
    {"n_layers": 1},
    {"n_layers": 3},
    {"layer_norm": True},
    {"ffn_ratio": 0},
    {"n_layers": 0},
    {"amount_encoding": "multiply", "n_heads": 2},
])
def test_equals_the_plain_forward_on_every_subset(options):
    mixer = small_mixer(**options)
    batch = recipes(3, 5)
    expected = plain(mixer, *batch)
    got = fast(mixer, *batch)
    assert got.shape == (3, 32)
    assert torch.allclose(got, expected, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_few_ingredients(n):
    mixer = small_mixer(n_layers=3)
    batch = recipes(2, n, seed=n)
    states = mixer.token_states(*batch)
    got = subset_predictions(mixer, states)
    assert got.shape == (2, 2 ** n)
    if n:
        assert torch.allclose(got, plain(mixer, *batch), atol=2e-6, rtol=1e-5)
    with torch.no_grad():
        alone = mixer.run_blocks(states[:, :1])  # the property token by itself
    assert torch.allclose(got[:, 0], alone, atol=2e-6)


def test_fixed_tokens_are_in_every_subset():
    mixer = small_mixer()
    property_ids, ids, amounts = recipes(2, 5, seed=3)
    states = mixer.token_states(property_ids, ids, amounts)
    got = subset_predictions(mixer, states, n_fixed=3)  # ingredients 0 and 1 always present
    full = plain(mixer, property_ids, ids, amounts)
    assert got.shape == (2, 8)
    assert torch.allclose(got, full[:, 3::4], atol=2e-6, rtol=1e-5)  # subsets with bits 0, 1


def test_scores_too_wide_for_float32_exponents():
    mixer = small_mixer()
    with torch.no_grad():  # queries and keys far apart: first-block scores spread by hundreds
        mixer.blocks[0].attn.qkv.weight.mul_(40.0)
    batch = recipes(2, 4, seed=1)
    states = mixer.token_states(*batch)
    q, k, _ = mixer.first_qkv(states).detach().chunk(3, dim=-1)
    scores = q @ k.transpose(1, 2)
    assert float(scores.amax() - scores.amin()) > 4 * SAFE_EXPONENT
    got = fast(mixer, *batch)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, plain(mixer, *batch), atol=1e-4, rtol=1e-4)


def test_grid_views_agree_between_tokens():
    grid = SubsetGrid(1, 3)  # tokens 1, 2, 3 are bits 0, 1, 2
    members = grid.membership(torch.float32, "cpu")
    assert members[5].tolist() == [1, 1, 0, 1]  # 5 = 0b101: tokens 1 and 3
    subsets = torch.arange(8)
    holding_1 = subsets[members[:, 1] == 1]  # the rows of a table over subsets holding token 1
    holding_3 = subsets[members[:, 3] == 1]
    a = grid.holding(holding_1, 1, 3).reshape(-1)
    b = grid.holding(holding_3, 3, 1).reshape(-1)
    assert a.tolist() == b.tolist() == [5, 7]
    assert grid.holding(subsets, None, 2).reshape(-1).tolist() == [2, 3, 6, 7]
    assert grid.holding(subsets, 0, 0).reshape(-1).tolist() == list(range(8))


def test_softmax_per_subset_in_the_first_block(monkeypatch):
    monkeypatch.setattr("models.subsets.SAFE_EXPONENT", -1.0)  # every recipe takes that path
    mixer = small_mixer(n_layers=3, layer_norm=True)
    batch = recipes(3, 4, seed=2)
    assert torch.allclose(fast(mixer, *batch), plain(mixer, *batch), atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("per_subset_softmax", [False, True])
def test_a_token_with_a_state_of_its_own_in_each_subset(n_layers, per_subset_softmax,
                                                       monkeypatch):
    """Ingredient 0 is a balance: always present, topped up with what the absent ones leave."""
    if per_subset_softmax:
        monkeypatch.setattr("models.subsets.SAFE_EXPONENT", -1.0)
    mixer = small_mixer(n_layers=n_layers, layer_norm=n_layers == 3)
    property_ids, ids, amounts = recipes(3, 5, seed=5)
    s = torch.arange(16)
    bits = ((s[:, None] >> torch.arange(4)) & 1).float()  # (16, 4) over ingredients 1..4
    topped = amounts[:, :1] + ((1 - bits) @ amounts[:, 1:].T).T  # (3, 16)
    vectors = mixer.ingredient_vectors(ids[:, :1]).expand(3, 16, -1)
    varying = mixer.encode_amounts(vectors, topped)  # (3, 16, D)
    states = mixer.token_states(property_ids, ids, amounts)
    got = subset_predictions(mixer, states, n_fixed=2, varying=varying)
    rows = torch.arange(3).repeat_interleave(16)
    changed = amounts[rows].clone()
    changed[:, 0] = topped.reshape(-1)
    mask = torch.cat([torch.ones(16, 1), bits], dim=1).bool().repeat(3, 1)
    with torch.no_grad():
        expected = mixer(property_ids[rows], ids[rows], changed, mask).view(3, 16)
    assert torch.allclose(got, expected, atol=2e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="varying"):
        subset_predictions(mixer, states, n_fixed=1, varying=varying)
