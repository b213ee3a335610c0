import numpy as np
import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from xai.attribution.integrated_gradients import clenshaw_curtis, integrated_gradients
from xai.cases import Cases


def tiny_mixer(encoding="multiply"):
    config = MixerConfig(n_ingredients=20, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=2, amount_encoding=encoding)
    return build_mixer(config, seed=1).eval()


def random_cases(n=24, width=9, seed=0):
    """Recipes of 2..width ingredients summing to 1; ingredient 1 (water) first where present."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, width), dtype=np.int64)
    amounts = np.zeros((n, width), dtype=np.float32)
    balance = np.full(n, -1)
    for i in range(n):
        size = int(rng.integers(2, width + 1))
        ids[i, :size] = rng.choice(np.arange(2, 20), size, replace=False)
        if i % 4:  # most recipes hold water; some do not
            ids[i, 0] = 1
            balance[i] = 0
        amounts[i, :size] = rng.dirichlet(np.ones(size))
    ids_t = torch.from_numpy(ids)
    mask = ids_t != 0
    return Cases(
        formulation_ids=tuple(f"F{i}" for i in range(n)),
        properties=tuple("pq"[i % 2] for i in range(n)),
        ingredients=tuple(tuple(f"I{j}" for j in row if j) for row in ids),
        raw_amounts=tuple(a[m] * 100 for a, m in zip(amounts, mask.numpy(), strict=True)),
        property_ids=torch.tensor([i % 2 for i in range(n)]),
        ids=ids_t, amounts=torch.from_numpy(amounts), mask=mask,
        balance_slot=torch.from_numpy(balance), measured=np.full(n, np.nan),
        balance_ingredient="I1",
    )


@pytest.mark.parametrize("absence", ["removed", "zero", "balance"])
@pytest.mark.parametrize("encoding", ["multiply", "fourier"])
def test_completeness_within_tolerance(absence, encoding):
    mixer, cases = tiny_mixer(encoding), random_cases()
    result = integrated_gradients(mixer, cases, absence=absence, max_steps=512)
    gap = np.abs(result.prediction - result.baseline)
    assert result.method == "ig" and str(result.absence) == absence
    assert result.converged.all()
    assert np.all(np.abs(result.completeness_error) <= np.maximum(1e-3 * gap, 1e-5) + 1e-6)
    np.testing.assert_allclose(result.delta, result.completeness_error, atol=1e-5)
    assert np.all(np.isnan(result.values[~cases.mask.numpy()]))  # padding
    if absence == "balance":
        rows = np.flatnonzero(cases.balance_slot.numpy() >= 0)
        assert np.all(np.isnan(result.values[rows, 0]))  # water is not a player
        assert np.isfinite(result.values[0, : len(cases.ingredients[0])]).all()  # no water here
    else:
        assert np.isfinite(result.values[cases.mask.numpy()]).all()


def test_baselines_are_the_documented_recipes():
    mixer, cases = tiny_mixer(), random_cases()
    with torch.no_grad():
        f = mixer(cases.property_ids, cases.ids, cases.amounts, cases.mask).numpy()
        zero = torch.zeros_like(cases.amounts)
        f_zero = mixer(cases.property_ids, cases.ids, zero, cases.mask).numpy()
        water_only = zero.clone()
        rows = (cases.balance_slot >= 0).nonzero().squeeze(1)
        water_only[rows, 0] = cases.amounts[rows].sum(1)  # everything in water, total kept
        f_water = mixer(cases.property_ids, cases.ids, water_only, cases.mask).numpy()
    for absence, expected in (("zero", f_zero), ("removed", f_zero), ("balance", f_water)):
        result = integrated_gradients(mixer, cases, absence=absence)
        np.testing.assert_allclose(result.prediction, f, atol=1e-6)
        np.testing.assert_allclose(result.baseline, expected, atol=1e-6)
    removed = integrated_gradients(mixer, cases, absence="removed")
    assert "differs" in removed.settings["baseline"]


def test_matches_a_fine_riemann_sum():
    mixer, cases = tiny_mixer("fourier"), random_cases(n=3)
    result = integrated_gradients(mixer, cases, absence="zero", tolerance=1e-6, max_steps=512)
    i, size = 2, len(cases.ingredients[2])
    x = cases.amounts[i : i + 1, :size]
    alphas = (torch.arange(2000, dtype=torch.float32) + 0.5) / 2000  # midpoints
    path = (alphas[:, None] * x).requires_grad_()
    out = mixer(cases.property_ids[i : i + 1].expand(2000), cases.ids[i : i + 1, :size].expand(
        2000, -1), path, cases.mask[i : i + 1, :size].expand(2000, -1))
    (grad,) = torch.autograd.grad(out.sum(), path)
    expected = (grad.mean(0) * x[0]).numpy()
    np.testing.assert_allclose(result.values[i, :size], expected, atol=2e-5)


def test_batched_equals_one_at_a_time():
    mixer, cases = tiny_mixer(), random_cases()
    together = integrated_gradients(mixer, cases, absence="balance", internal_batch_size=64)
    for i in (0, 5, 13):
        alone = integrated_gradients(mixer, cases.select([i]), absence="balance")
        size = len(cases.ingredients[i])
        np.testing.assert_allclose(alone.values[0, :size], together.values[i, :size],
                                   atol=1e-6)


def test_steps_double_only_where_needed_and_stop_at_the_cap():
    mixer, cases = tiny_mixer("fourier"), random_cases()
    loose = integrated_gradients(mixer, cases, absence="zero", start_steps=2, max_steps=256)
    steps = loose.n_steps
    assert set(np.unique(steps)) <= {2, 4, 8, 16, 32, 64, 128, 256}
    assert steps.min() < steps.max()  # some cases needed more steps than others
    capped = integrated_gradients(mixer, cases, tolerance=0.0, absolute_floor=0.0,
                                  start_steps=4, max_steps=16)
    assert np.all(capped.n_steps == 16) and not capped.converged.any()


def test_clenshaw_curtis_is_exact_for_polynomials_and_nested():
    for n in (1, 2, 3, 8, 9, 64):
        nodes, weights = clenshaw_curtis(n)
        assert nodes[0] == 0 and abs(nodes[-1] - 1) < 1e-15
        for degree in range(n + 1):
            np.testing.assert_allclose(weights @ nodes**degree, 1 / (degree + 1), rtol=1e-12)
    np.testing.assert_allclose(clenshaw_curtis(2)[1], [1 / 6, 2 / 3, 1 / 6])  # Simpson
    coarse, fine = clenshaw_curtis(8)[0], clenshaw_curtis(16)[0]
    np.testing.assert_allclose(fine[0::2], coarse, atol=1e-15)
    with pytest.raises(ValueError):
        clenshaw_curtis(0)


def test_matches_captum_at_many_steps():
    from captum.attr import IntegratedGradients

    mixer, cases = tiny_mixer("fourier"), random_cases(n=6)
    ours = integrated_gradients(mixer, cases, absence="zero", tolerance=1e-7,
                                absolute_floor=1e-9, max_steps=512)
    reference = IntegratedGradients(lambda a, p, i, m: mixer(p, i, a, m))
    for row in range(len(cases)):
        size = len(cases.ingredients[row])
        one = cases.select([row])
        theirs = reference.attribute(one.amounts, additional_forward_args=(
            one.property_ids, one.ids, one.mask), n_steps=400, method="gausslegendre")
        np.testing.assert_allclose(ours.values[row, :size], theirs[0, :size].detach().numpy(),
                                   atol=2e-5)


def test_unknown_absence_is_rejected():
    with pytest.raises(ValueError, match="absence"):
        integrated_gradients(tiny_mixer(), random_cases(n=2), absence="gone")
