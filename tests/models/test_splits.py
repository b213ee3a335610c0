"""Seeded splits by formulation id."""

from __future__ import annotations

import json

import pytest

from models.splits import Split, kfold_splits, random_split

IDS = [f"F{i:03d}" for i in range(50)]


def test_random_split_is_disjoint_covering_and_sized():
    s = random_split(IDS, seed=0, validation=0.1, test=0.2)
    parts = [set(s.train), set(s.validation), set(s.test)]
    assert (len(s.train), len(s.validation), len(s.test)) == (35, 5, 10)
    assert set().union(*parts) == set(IDS) and sum(map(len, parts)) == len(IDS)
    assert s.method == "random" and s.seed == 0
    assert list(s.train) == sorted(s.train)


def test_random_split_is_deterministic_and_ignores_input_order():
    a = random_split(IDS, seed=3)
    assert random_split(list(reversed(IDS)), seed=3) == a
    assert random_split(IDS + IDS[:5], seed=3) == a  # repeated ids count once
    assert random_split(IDS, seed=4).test != a.test


def test_small_fractions_still_get_one_id_each():
    s = random_split(["a", "b", "c"], seed=0, validation=0.1, test=0.1)
    assert (len(s.train), len(s.validation), len(s.test)) == (1, 1, 1)
    s = random_split(["a", "b"], seed=0, validation=0.0, test=0.3)
    assert (len(s.train), len(s.validation), len(s.test)) == (1, 0, 1)


@pytest.mark.parametrize("kwargs", [
    {"validation": 0.5, "test": 0.5},
    {"validation": -0.1},
    {"test": 1.0},
])
def test_random_split_rejects_bad_fractions(kwargs):
    with pytest.raises(ValueError):
        random_split(IDS, seed=0, **kwargs)


def test_random_split_rejects_too_few_ids():
    with pytest.raises(ValueError, match="too few"):
        random_split(["a", "b"], seed=0)
    with pytest.raises(ValueError, match="no formulation ids"):
        random_split([], seed=0)


def test_kfold_tests_each_id_exactly_once():
    splits = kfold_splits(IDS, k=4, seed=1, validation=0.1)
    assert [s.method for s in splits] == ["kfold:4:0", "kfold:4:1", "kfold:4:2", "kfold:4:3"]
    tested = [f for s in splits for f in s.test]
    assert sorted(tested) == IDS
    assert sorted(len(s.test) for s in splits) == [12, 12, 13, 13]
    for s in splits:
        assert len(s.validation) == 5
        assert set(s.train) | set(s.validation) | set(s.test) == set(IDS)
        assert len(s.train) + len(s.validation) + len(s.test) == len(IDS)


def test_kfold_is_deterministic():
    a = kfold_splits(IDS, k=5, seed=7)
    assert kfold_splits(list(reversed(IDS)), k=5, seed=7) == a
    assert kfold_splits(IDS, k=5, seed=8) != a


def test_kfold_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        kfold_splits(IDS[:3], k=4, seed=0)
    with pytest.raises(ValueError, match="k must be"):
        kfold_splits(IDS, k=1, seed=0)


def test_round_trip_through_json():
    s = kfold_splits(IDS, k=5, seed=2)[3]
    assert Split.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_overlapping_parts_are_rejected():
    with pytest.raises(ValueError, match="overlap"):
        Split(train=("a", "b"), validation=("b",), test=(), seed=0, method="random")
