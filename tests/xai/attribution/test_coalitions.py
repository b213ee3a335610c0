"""Coalition values: the fast Mixer path against recipes built by hand and the plain forward."""

import numpy as np
import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from xai.absence import Absence
from xai.attribution.coalitions import (
    SubsetGame,
    coalition_values,
    enumerate_values,
    make_game,
    player_slots,
    subset_members,
    to_slots,
)
from xai.cases import random_cases


def make_cases(sizes=(4, 6, 3, 5), balance=(0, 2, -1, 4), seed=0):
    return random_cases(sizes, balance, seed=seed)


def small_mixer(**options):
    config = dict(n_ingredients=21, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                  n_heads=4, head_hidden=8)
    config.update(options)
    return build_mixer(MixerConfig(**config), seed=7).eval()


def test_subset_members_and_slots():
    members = subset_members(3)
    assert members.shape == (8, 3)
    assert members[5].tolist() == [True, False, True]  # 5 = 0b101
    assert to_slots(np.array([1, 3]), members[[1, 2, 3]][:, :2], 5).tolist() == [
        [False, True, False, False, False],
        [False, False, False, True, False],
        [False, True, False, True, False],
    ]


def test_player_slots_follow_absence():
    cases = make_cases()
    assert [s.tolist() for s in player_slots(cases, Absence.removed())][1] == [0, 1, 2, 3, 4, 5]
    balance = [s.tolist() for s in player_slots(cases, Absence.balance())]
    assert balance[1] == [0, 1, 3, 4, 5]  # the balance ingredient is never a player
    assert balance[2] == [0, 1, 2]  # no balance ingredient in this recipe


@pytest.mark.parametrize("encoding", ["multiply", "concat", "fourier"])
@pytest.mark.parametrize("absence", ["removed", "balance", "zero"])
def test_fast_path_equals_plain_forward(encoding, absence):
    mixer = small_mixer(amount_encoding=encoding, layer_norm=encoding == "concat").double()
    cases = make_cases()
    rng = np.random.default_rng(1)
    case_index = rng.integers(0, len(cases), 200)
    coalitions = rng.random((200, cases.ids.shape[1])) < 0.5
    fast = coalition_values(mixer, cases, coalitions, absence, case_index=case_index,
                            batch_size=7)
    plain = make_game(mixer, cases, absence, fast=False)(case_index, coalitions)
    assert fast.dtype == np.float64
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-6)


@pytest.mark.parametrize("split", [12, 3])
@pytest.mark.parametrize("absence", ["removed", "balance"])
def test_every_subset_at_once_equals_the_plain_forward(split, absence, monkeypatch):
    """Enumeration under removed and balance absence takes models.subsets; with ``split`` 3
    the cases of more than three players are enumerated in parts."""
    monkeypatch.setattr("xai.attribution.coalitions.SPLIT_PLAYERS", split)
    mixer = small_mixer(n_layers=3).double()
    cases = make_cases(sizes=(4, 6, 4, 5, 4), balance=(0, 2, -1, 4, 1))
    game = make_game(mixer, cases, absence)
    assert isinstance(game, SubsetGame)
    slots = player_slots(cases, Absence(absence))
    done = []
    got = enumerate_values(game, slots, [0, 1, 2, 4], cases.ids.shape[1], batch_size=8,
                           on_done=done.append)  # two cases of 4 players per pass (8 x 4 / 16)
    assert sorted(got) == [0, 1, 2, 4] and sum(done) == 4
    plain = make_game(mixer, cases, absence, fast=False)
    for r, v in got.items():
        members = subset_members(len(slots[r]))
        coalitions = to_slots(slots[r], members, cases.ids.shape[1])
        index = np.full(len(members), r)
        np.testing.assert_allclose(v, game.game(index, coalitions), rtol=0, atol=1e-12)
        # the plain path tops the balance up in the cases' float32 amounts
        np.testing.assert_allclose(v, plain(index, coalitions), rtol=0, atol=1e-7)
    assert not isinstance(make_game(mixer, cases, "zero"), SubsetGame)


def test_values_are_the_model_on_changed_recipes():
    """Each absence checked against a recipe edited by hand and run through the plain Mixer."""
    mixer = small_mixer().double()
    cases = make_cases().select([1])  # six ingredients, balance in slot 2
    keep = np.array([[True, False, True, True, False, True]])
    ids, amounts, prop = cases.ids, cases.amounts.double(), cases.property_ids
    dropped = torch.tensor([[False, True, False, False, True, False]])
    expected = {}
    with torch.no_grad():
        expected["removed"] = mixer(prop, ids, amounts, cases.mask & ~dropped)
        expected["zero"] = mixer(prop, ids, amounts.masked_fill(dropped, 0.0), cases.mask)
        topped = amounts.clone()
        topped[0, 2] += amounts[0, 1] + amounts[0, 4]
        expected["balance"] = mixer(prop, ids, topped, cases.mask & ~dropped)
    for absence, value in expected.items():
        got = coalition_values(mixer, cases, keep, absence)
        np.testing.assert_allclose(got, value.numpy(), rtol=0, atol=1e-12)


def test_full_and_empty_coalitions():
    mixer = small_mixer()
    cases = make_cases()
    T = cases.ids.shape[1]
    index = np.repeat(np.arange(len(cases)), 2)
    coalitions = np.tile([[True] * T, [False] * T], (len(cases), 1))
    v = coalition_values(mixer, cases, coalitions, "removed", case_index=index)
    with torch.no_grad():
        full = mixer(cases.property_ids, cases.ids, cases.amounts, cases.mask)
        empty = mixer(cases.property_ids, cases.ids, cases.amounts, torch.zeros_like(cases.mask))
    np.testing.assert_allclose(v[0::2], full.numpy(), atol=1e-6)
    np.testing.assert_allclose(v[1::2], empty.numpy(), atol=1e-6)


def test_bad_arguments():
    mixer = small_mixer()
    cases = make_cases()
    with pytest.raises(ValueError, match="case_index"):
        coalition_values(mixer, cases, np.ones((2, 6), bool))
    with pytest.raises(ValueError, match="coalitions"):
        coalition_values(mixer, cases, np.ones((2, 5), bool), case_index=[0, 1])
    with pytest.raises(ValueError, match="absence"):
        coalition_values(mixer, cases, np.ones((2, 6), bool), "gone", case_index=[0, 1])
    with pytest.raises(ValueError, match="range"):
        coalition_values(mixer, cases, np.ones((1, 6), bool), case_index=[4])
