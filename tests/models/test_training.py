import math

import numpy as np
import torch

from models.encoding import RecipeTensors
from models.mixer import MixerConfig, build_mixer
from models.training import Samples, TrainConfig, learning_rate_factor, train


def toy_samples(n: int, seed: int) -> Samples:
    """Recipes of 3 of 6 ingredients; the target is a fixed nonlinear function of the amounts."""
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.choice(np.arange(1, 7), 3, replace=False) for _ in range(n)])
    amounts = rng.dirichlet(np.ones(3), n).astype(np.float32)
    weight = np.array([0, 1.0, -2.0, 0.5, 3.0, -1.0, 2.0])
    target = np.tanh((weight[ids] * amounts).sum(1)) + 0.5 * amounts.max(1)
    ids_t = torch.from_numpy(ids)
    return Samples(
        recipes=RecipeTensors(ids_t, torch.from_numpy(amounts), ids_t != 0),
        recipe_index=torch.arange(n),
        property_ids=torch.zeros(n, dtype=torch.long),
        targets=torch.from_numpy(((target - target.mean()) / target.std()).astype(np.float32)),
    )


def tiny_mixer(seed=0):
    config = MixerConfig(n_ingredients=7, n_properties=1, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=2, head_hidden=16)
    return build_mixer(config, seed=seed)


def test_training_learns_and_is_deterministic():
    train_set, val_set = toy_samples(256, 0), toy_samples(64, 1)
    config = TrainConfig(epochs=30, batch_size=32, seed=3, patience=100)
    runs = []
    for _ in range(2):
        mixer = tiny_mixer()
        history = train(mixer, train_set, val_set, config, progress=False)
        runs.append((history, [p.detach().clone() for p in mixer.parameters()]))
    (h1, p1), (h2, p2) = runs
    assert [e["validation_loss"] for e in h1.epochs] == [e["validation_loss"] for e in h2.epochs]
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))
    assert h1.best_validation_loss < 0.5 * h1.epochs[0]["validation_loss"]


def test_a_long_run_ends_no_worse_than_its_best_epoch():
    train_set, val_set = toy_samples(256, 0), toy_samples(64, 1)
    # a learning rate high enough to make a LayerNorm-free stack unstable late in training
    config = TrainConfig(epochs=80, batch_size=32, lr=3e-2, seed=0, patience=1000)
    mixer = tiny_mixer()
    history = train(mixer, train_set, val_set, config, progress=False)
    final = np.mean((_predict(mixer, val_set) - val_set.targets.numpy()) ** 2)
    assert math.isclose(final, history.best_validation_loss, rel_tol=1e-5)
    assert final <= min(e["validation_loss"] for e in history.epochs if
                        math.isfinite(e["validation_loss"])) + 1e-9


def test_early_stopping_stops_and_says_why():
    train_set, val_set = toy_samples(64, 0), toy_samples(32, 1)
    history = train(tiny_mixer(), train_set, val_set,
                    TrainConfig(epochs=500, patience=3, lr=0.0, seed=0), progress=False)
    assert len(history.epochs) < 500
    assert "no improvement" in history.stop_reason


def test_snapshots_every_k_epochs():
    train_set, val_set = toy_samples(64, 0), toy_samples(32, 1)
    history = train(tiny_mixer(), train_set, val_set,
                    TrainConfig(epochs=6, snapshot_every=2, seed=0, patience=100), progress=False)
    assert [s["epoch"] for s in history.snapshots] == [0, 2, 4]
    assert history.snapshots[0]["ingredients"].shape == (6, 8)


def test_learning_rate_warms_up_then_decays():
    config = TrainConfig(epochs=100, warmup_epochs=5, min_lr_ratio=0.1)
    factors = [learning_rate_factor(e, config) for e in range(100)]
    assert factors[0] < factors[4] < factors[5] == 1.0
    assert factors[-1] < 0.15
    assert all(a >= b for a, b in zip(factors[5:], factors[6:], strict=False))


def _predict(mixer, samples):
    from models.training import predict_samples
    return predict_samples(mixer, samples)


def test_training_steps_run_on_train_threads(monkeypatch):
    import torch

    from models.training import TRAIN_THREADS

    seen = []
    step = torch.optim.AdamW.step

    def record(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", record)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train(tiny_mixer(), toy_samples(64, 0), toy_samples(16, 1), TrainConfig(epochs=1),
              progress=False)
        assert seen and set(seen) == {TRAIN_THREADS}
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)


def test_forward_calls_group_by_rounded_length_in_order():
    from models.training import LENGTH_BUCKET, forward_calls

    lengths = torch.tensor([3, 9, 8, 1, 17, 12, 0, 5, 16])
    calls = forward_calls(lengths, rows=2)
    assert [(w, i.tolist()) for w, i in calls] == [
        (8, [0, 2]), (8, [3, 6]), (8, [7]), (16, [1, 5]), (16, [8]), (24, [4])]
    assert all(w % LENGTH_BUCKET == 0 for w, _ in calls)


def test_predictions_cut_between_forward_calls_equal_one_run(tiny_model, tiny_dataset):
    """Rows in the order of forward_calls, predicted in pieces of whole calls, equal one
    run's to the bit: each row runs in the same call at the same row (on some CPUs a row's
    prediction depends on its row in the call)."""
    from models.training import forward_calls

    recipes = tiny_dataset.recipes()
    rows = tiny_dataset.measurements[["formulation_id", "property"]].drop_duplicates()
    chosen = [recipes[f] for f in rows["formulation_id"]]
    props = rows["property"].tolist()
    whole = tiny_model.predict(chosen, props, standardised=True)
    calls = [i.numpy() for _, i in forward_calls(torch.tensor([len(r[0]) for r in chosen]))]
    assert len(calls) >= 4
    for index in calls:
        piece = tiny_model.predict([chosen[i] for i in index], [props[i] for i in index],
                                   standardised=True)
        np.testing.assert_array_equal(piece, whole[index])
