import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from models.mixer import MixerConfig, build_mixer
from xai.absence import Absence
from xai.attribution.integrated_gradients import integrated_gradients
from xai.attribution.results import Attribution
from xai.cases import Cases
from xai.checks.deletion import deletion_curves
from xai.checks.quality import (
    agreement,
    completeness,
    kendall_rows,
    randomisation_check,
    spearman_rows,
)


def make_cases(ids, amounts, props=None):
    ids = torch.as_tensor(ids)
    amounts = torch.as_tensor(amounts, dtype=torch.float32)
    n = len(ids)
    mask = ids != 0
    props = props if props is not None else [0] * n
    return Cases(
        formulation_ids=tuple(f"F{i}" for i in range(n)),
        properties=tuple(f"P{p}" for p in props),
        ingredients=tuple(tuple(f"I{int(j)}" for j in row if j) for row in ids),
        raw_amounts=tuple(a[m].numpy() * 100 for a, m in zip(amounts, mask, strict=True)),
        property_ids=torch.as_tensor(props), ids=ids, amounts=amounts, mask=mask,
        balance_slot=torch.full((n,), -1), measured=np.full(n, np.nan),
    )


def attribution_of(cases, values, method="m", prediction=None, baseline=None):
    values = np.asarray(values, dtype=float)
    n = len(values)
    return Attribution(
        method=method, absence=Absence.removed(), formulation_ids=cases.formulation_ids,
        properties=cases.properties, ingredients=cases.ingredients,
        raw_amounts=cases.raw_amounts, values=values,
        prediction=np.zeros(n) if prediction is None else np.asarray(prediction, float),
        baseline=np.zeros(n) if baseline is None else np.asarray(baseline, float),
    )


# -- completeness ----------------------------------------------------------------------------


def test_completeness_error_and_relative_error():
    cases = make_cases([[1, 2], [3, 4]], [[0.5, 0.5], [0.5, 0.5]])
    att = attribution_of(cases, [[0.3, 0.2], [1.0, np.nan]], prediction=[1.0, 2.0],
                         baseline=[0.5, 0.0])
    check = completeness(att, tolerance=1e-3)
    np.testing.assert_allclose(check.error, [0.0, -1.0])
    np.testing.assert_allclose(check.relative, [0.0, 0.5])
    assert check.within.tolist() == [True, False]
    out = check.to_dict()
    assert out["share_within_tolerance"] == 0.5 and out["max_abs_error"] == 1.0


# -- agreement -------------------------------------------------------------------------------


def test_agreement_on_known_rankings():
    cases = make_cases([[1, 2, 3, 4]] * 4, [[0.25] * 4] * 4, props=[0, 0, 1, 1])
    a = attribution_of(cases, [[1, 2, 3, 4]] * 4, method="a")
    b = attribution_of(cases, [[1, 2, 3, 4], [4, 3, 2, 1], [1, 3, 2, 4], [-1, 3, 2, np.nan]],
                       method="b")
    result = agreement(a, b, k=2)
    np.testing.assert_allclose(result.spearman, [1.0, -1.0, 0.8, 0.5])
    np.testing.assert_allclose(result.kendall, [1.0, -1.0, 4 / 6, 1 / 3])
    # top-2 by |value|: a -> slots {2, 3}; b -> {2,3}, {0,1}, {1,3}, {1,2} (slot 3 is NaN,
    # so a is ranked over slots 0-2 too: {1, 2})
    np.testing.assert_allclose(result.top_k, [1.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(result.sign, [1.0, 1.0, 1.0, 2 / 3])
    assert result.n_players.tolist() == [4, 4, 4, 3]
    out = result.to_dict()
    assert out["methods"] == ["a", "b"]
    assert out["per_property"]["P0"]["spearman_mean"] == pytest.approx(0.0)
    assert out["overall"]["top2_overlap_mean"] == pytest.approx(0.625)


def test_rank_statistics_match_scipy_with_ties_and_gaps():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 9)).round(1)
    y = (x + rng.normal(size=(40, 9))).round(1)
    x[:, 7:] = np.nan
    x[5, 1:] = np.nan  # a single player: undefined
    rho, tau = spearman_rows(x, y), kendall_rows(x, y)
    for i in range(40):
        ok = np.isfinite(x[i])
        if ok.sum() < 2:
            assert np.isnan(rho[i]) and np.isnan(tau[i])
            continue
        assert rho[i] == pytest.approx(stats.spearmanr(x[i, ok], y[i, ok]).statistic)
        assert tau[i] == pytest.approx(stats.kendalltau(x[i, ok], y[i, ok]).statistic)


def test_agreement_rejects_different_cases():
    a_cases = make_cases([[1, 2]], [[0.5, 0.5]])
    b_cases = make_cases([[1, 2]], [[0.5, 0.5]], props=[1])
    with pytest.raises(ValueError, match="same cases"):
        agreement(attribution_of(a_cases, [[1, 2]]), attribution_of(b_cases, [[1, 2]]))


# -- deletion curves -------------------------------------------------------------------------


class Additive(nn.Module):
    """f = sum of weight[id] * amount over present ingredients: exact attributions known."""

    def __init__(self, weights):
        super().__init__()
        self.weights = torch.as_tensor(weights, dtype=torch.float32)

    def forward(self, property_ids, ids, amounts, mask):
        return (self.weights[ids] * amounts * mask).sum(1)


def test_deletion_curve_of_one_case_by_hand():
    model = Additive([0.0, 3.0, -1.0, 2.0])
    cases = make_cases([[1, 2, 3]], [[1.0, 1.0, 1.0]])
    att = attribution_of(cases, [[3.0, -1.0, 2.0]], method="exact")
    curves = deletion_curves(model, cases, att, n_random=4, seed=0)
    # positive order removes 3, 2, -1: f - f0 = 0, -3, -5, -4
    assert curves.auc["positive"][0] == pytest.approx((0 - 3 - 5 - 4 + 2) / 3)
    # by magnitude 3, 2, -1: f = 4, 1, -1, 0, so the gap |f - f(all removed)| is 4, 1, 1, 0
    assert curves.auc["magnitude"][0] == pytest.approx((4 + 1 + 1 + 0 - 2) / 3)
    np.testing.assert_allclose(curves.fractions, np.linspace(0, 1, 11))
    assert curves.curves["positive"][0] == 0 and curves.curves["positive"][-1] == -4


def test_attribution_order_beats_random_on_an_additive_model():
    rng = np.random.default_rng(3)
    weights = rng.normal(size=16)
    weights[0] = 0
    ids = np.zeros((60, 8), dtype=np.int64)
    amounts = np.zeros((60, 8), dtype=np.float32)
    for i in range(60):
        size = int(rng.integers(3, 9))
        ids[i, :size] = rng.choice(np.arange(1, 16), size, replace=False)
        amounts[i, :size] = rng.dirichlet(np.ones(size))
    cases = make_cases(ids, amounts)
    model = Additive(weights)
    exact = np.where(ids > 0, weights[ids] * amounts, np.nan)
    prediction = np.nansum(exact, 1)
    good = deletion_curves(model, cases, attribution_of(cases, exact, prediction=prediction),
                           n_random=5, seed=1)
    assert len(good.case_rows) == 60
    for order in ("positive", "magnitude"):
        assert good.beats_random(order) > 0.9
        assert good.auc[order].mean() < good.random_auc[order].mean()
    # attributions of the wrong sign do worse than random
    bad = deletion_curves(model, cases, attribution_of(cases, -exact), n_random=5, seed=1)
    assert bad.auc["positive"].mean() > bad.random_auc["positive"].mean()
    np.testing.assert_allclose(good.random_auc["positive"], bad.random_auc["positive"])
    out = good.to_dict()
    assert out["n_cases"] == 60 and len(out["orders"]["positive"]["curve"]) == 11


def test_deletion_curves_run_on_a_mixer_with_every_absence():
    config = MixerConfig(n_ingredients=12, n_properties=1, base_dim=8, mixer_dim=16,
                         n_layers=1, n_heads=2)
    mixer = build_mixer(config, seed=0).eval()
    cases = make_cases([[1, 2, 3, 0], [4, 5, 6, 7]], [[0.5, 0.3, 0.2, 0], [0.4, 0.3, 0.2, 0.1]])
    cases = Cases(**{**cases.__dict__, "balance_slot": torch.tensor([0, -1])})
    for absence in ("removed", "zero", "balance"):
        att = integrated_gradients(mixer, cases, absence=absence)
        curves = deletion_curves(mixer, cases, att, n_random=2, seed=0)
        assert np.isfinite(curves.curves["positive"]).all()
        # the fully removed end of the magnitude curve is 0 by construction
        assert curves.curves["magnitude"][-1] == pytest.approx(0.0)


# -- model-randomisation sanity check --------------------------------------------------------


def train_toy_mixer(seed=0):
    """A tiny Mixer fitted for a few seconds to an additive-plus-interaction toy property."""
    rng = np.random.default_rng(seed)
    n, width = 600, 6
    ids = np.zeros((n, width), dtype=np.int64)
    amounts = np.zeros((n, width), dtype=np.float32)
    for i in range(n):
        size = int(rng.integers(3, width + 1))
        ids[i, :size] = rng.choice(np.arange(1, 12), size, replace=False)
        amounts[i, :size] = rng.dirichlet(np.ones(size))
    effect = np.linspace(-2, 2, 12)
    effect[0] = 0
    y = (effect[ids] * amounts).sum(1) + 2 * np.where(ids == 3, amounts, 0).sum(1) * np.where(
        ids == 5, amounts, 0).sum(1)
    y = (y - y.mean()) / y.std()
    config = MixerConfig(n_ingredients=12, n_properties=1, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=2)
    mixer = build_mixer(config, seed=seed)
    ids_t, am_t, y_t = torch.from_numpy(ids), torch.from_numpy(amounts), torch.tensor(y).float()
    props = torch.zeros(n, dtype=torch.long)
    optimiser = torch.optim.Adam(mixer.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(100):
        rows = torch.randint(0, n, (64,), generator=generator)
        loss = ((mixer(props[rows], ids_t[rows], am_t[rows], ids_t[rows] != 0) - y_t[rows]) ** 2
                ).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    mixer.eval()
    return mixer, make_cases(ids[:40], amounts[:40]), float(loss.detach())


def test_randomisation_check_similarity_falls_on_a_trained_model():
    mixer, cases, loss = train_toy_mixer()
    assert loss < 0.2  # the toy model did learn

    def attribute(model, c):
        return integrated_gradients(model, c, absence="zero", max_steps=32)

    before = [p.detach().clone() for p in mixer.parameters()]
    check = randomisation_check(mixer, cases, attribute, seed=0)
    assert check.stages == ("original", "head", "block 1", "block 0", "embeddings")
    assert check.spearman[0] == pytest.approx(1.0) and check.abs_spearman[0] == pytest.approx(1.0)
    assert check.spearman[-1] < 0.5 and check.spearman[-1] < check.spearman[0] - 0.5
    assert check.passed and check.to_dict()["passed"]
    # the original model is untouched, and the check is reproducible
    assert all(torch.equal(a, b) for a, b in zip(before, mixer.parameters(), strict=True))
    again = randomisation_check(mixer, cases, attribute, seed=0)
    np.testing.assert_allclose(again.spearman, check.spearman)
