"""Learning dynamics on fake snapshots whose groups separate at a known epoch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xai.representation.dynamics import learning_dynamics

NAMES = [f"I{i}" for i in range(12)]
GROUPS = {n: f"g{i // 4}" for i, n in enumerate(NAMES)}
PROPS = ["p0", "p1", "p2"]


def fake_snapshots(separate_by: int = 20, last: int = 50, every: int = 5):
    """Ingredient vectors move linearly from noise to three group centres, arriving at epoch
    ``separate_by``, then stay put; property vectors never move."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(12, 6))
    centres = np.repeat(rng.normal(size=(3, 6)) * 4.0, 4, axis=0)
    props = rng.normal(size=(3, 8))
    out = []
    for epoch in range(0, last + 1, every):
        t = min(epoch / separate_by, 1.0)
        out.append({"epoch": epoch, "ingredients": (1 - t) * start + t * centres,
                    "properties": props.copy()})
    return out, start, centres


def test_dynamics_on_fake_snapshots():
    snaps, start, centres = fake_snapshots()
    dyn = learning_dynamics(snaps[::-1], ingredient_names=NAMES, property_names=PROPS,
                            ingredient_groups=GROUPS, metric="l2")
    assert dyn.available
    assert dyn.epochs.tolist() == list(range(0, 51, 5))
    ing = dyn.ingredients
    # each vector moves |centre - start| / 20 per epoch until epoch 20, then not at all
    speed = np.linalg.norm(centres - start, axis=1) / 20
    assert np.allclose(ing.step[:4], speed[None, :])
    assert np.allclose(ing.step[4:], 0.0)
    assert ing.ratio[0] > 0.6 and ing.ratio[-1] < 0.2
    assert np.all(np.diff(ing.ratio[:5]) < 0)
    assert ing.ari[-1] == 1.0
    assert ing.separated_at in (15, 20)
    assert ing.trajectory.shape == (11, 12, 2)
    # one shared projection: a vector that stopped moving keeps its coordinates
    assert np.allclose(ing.trajectory[4], ing.trajectory[-1])
    prop = dyn.properties
    assert np.allclose(prop.step, 0.0)
    assert np.all(np.isnan(prop.ratio)) and prop.separated_at is None
    json.dumps(dyn.to_dict(), allow_nan=False)


@pytest.mark.parametrize("snaps", [[], [{"epoch": 0, "ingredients": np.zeros((12, 2)),
                                         "properties": np.zeros((3, 2))}]])
def test_no_dynamics_without_snapshots(snaps):
    dyn = learning_dynamics(snaps, ingredient_names=NAMES, property_names=PROPS)
    assert not dyn.available
    assert "snapshot" in dyn.reason
    assert dyn.to_dict()["ingredients"] is None


def test_names_must_match():
    snaps, _, _ = fake_snapshots()
    with pytest.raises(ValueError, match="names"):
        learning_dynamics(snaps, ingredient_names=NAMES[:3], property_names=PROPS)


def test_dynamics_frame_lines_up_with_the_arrays():
    snaps, _, _ = fake_snapshots()
    dyn = learning_dynamics(snaps, ingredient_names=NAMES, property_names=PROPS,
                            ingredient_groups=GROUPS, metric="l2")
    frame = dyn.to_frame()
    assert len(frame) == 11 * (len(NAMES) + len(PROPS))
    ing = frame[frame["table"] == "ingredients"]
    row = ing[(ing["epoch"] == 10) & (ing["name"] == "I5")].iloc[0]
    s = dyn.epochs.tolist().index(10)
    assert row["x"] == dyn.ingredients.trajectory[s, 5, 0]
    assert row["step"] == dyn.ingredients.step[s - 1, 5]
    assert row["ratio"] == dyn.ingredients.ratio[s]
    assert ing[ing["epoch"] == 0]["step"].isna().all()
    none = learning_dynamics([], ingredient_names=NAMES, property_names=PROPS).to_frame()
    assert len(none) == 0 and "epoch" in none.columns
