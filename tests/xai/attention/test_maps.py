import numpy as np
import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from xai.attention.maps import attention_maps, attention_rollout, attention_summary
from xai.cases import Cases


def tiny_mixer():
    config = MixerConfig(n_ingredients=12, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=2)
    return build_mixer(config, seed=0).eval()


def tiny_cases(extra_padding=0):
    ids = torch.tensor([[3, 5, 7, 0], [1, 2, 4, 6], [8, 9, 0, 0]])
    amounts = torch.tensor([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4], [0.6, 0.4, 0.0, 0.0]])
    ids = torch.cat([ids, torch.zeros(3, extra_padding, dtype=torch.long)], 1)
    amounts = torch.cat([amounts, torch.full((3, extra_padding), 5.0)], 1)  # junk under padding
    mask = ids != 0
    names = tuple(tuple(f"I{int(j)}" for j in row if j) for row in ids)
    return Cases(
        formulation_ids=("F0", "F1", "F2"), properties=("p", "q", "p"), ingredients=names,
        raw_amounts=tuple(np.asarray(a[m]) * 100 for a, m in zip(amounts, mask, strict=True)),
        property_ids=torch.tensor([0, 1, 0]), ids=ids, amounts=amounts, mask=mask,
        balance_slot=torch.full((3,), -1), measured=np.full(3, np.nan),
    )


# Two layers, two heads, two tokens: the rollout worked out by hand.
LAYER1 = [[[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [0.0, 1.0]]]
LAYER2 = [[[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]]
WEIGHTS = np.array([LAYER1, LAYER2])  # (L=2, H=2, S=2, S=2)


def test_rollout_mean_fusion_matches_hand_computation():
    # mean heads: layer 1 [[.75,.25],[.25,.75]] -> (A + I) / 2 = [[.875,.125],[.125,.875]];
    # layer 2 -> [[.75,.25],[.25,.75]]; R = A2 @ A1
    expected = np.array([[0.6875, 0.3125], [0.3125, 0.6875]])
    np.testing.assert_allclose(attention_rollout(WEIGHTS), expected)


def test_rollout_max_fusion_renormalises_rows():
    # max heads: layer 1 [[1,.5],[.5,1]] + I, rows / 2.5 -> [[.8,.2],[.2,.8]]
    expected_row0 = np.array([0.75 * 0.8 + 0.25 * 0.2, 0.75 * 0.2 + 0.25 * 0.8])
    out = attention_rollout(WEIGHTS, head_fusion="max")
    np.testing.assert_allclose(out[0], expected_row0)
    np.testing.assert_allclose(out.sum(-1), 1.0)


def test_rollout_batched_and_padded_equals_single_case():
    rng = np.random.default_rng(0)
    raw = rng.random((3, 2, 3, 3))
    single = raw / raw.sum(-1, keepdims=True)  # (L, H, S, S), rows sum to 1
    padded = np.zeros((3, 2, 5, 5))
    padded[..., :3, :3] = single
    padded[..., 3:, :3] = 1 / 3  # padded queries attend to real keys, as in the model
    batch = np.stack([padded, padded])
    mask = np.array([[True] * 3 + [False] * 2] * 2)
    for fusion in ("mean", "max", "min"):
        out = attention_rollout(batch, head_fusion=fusion, mask=mask)
        np.testing.assert_allclose(out[:, :3, :3], np.stack([attention_rollout(
            single, head_fusion=fusion)] * 2))
        assert np.all(out[:, 3:, :] == 0) and np.all(out[:, :, 3:] == 0)
        np.testing.assert_allclose(out[:, :3].sum(-1), 1.0)


def test_rollout_rejects_unknown_fusion():
    with pytest.raises(ValueError, match="head_fusion"):
        attention_rollout(WEIGHTS, head_fusion="median")


def test_maps_match_the_model_and_hide_padding():
    mixer, cases = tiny_mixer(), tiny_cases()
    maps = attention_maps(mixer, cases, batch_size=2)
    assert maps.weights.shape == (3, 2, 2, 5, 5)
    with torch.no_grad():
        _, per_layer = mixer(cases.property_ids, cases.ids, cases.amounts, cases.mask,
                             return_attention=True)
    case0 = maps.case(0)
    assert case0.shape == (2, 2, 4, 4)
    np.testing.assert_allclose(case0, torch.stack(per_layer, 1)[0, :, :, :4, :4].numpy(),
                               rtol=1e-5, atol=1e-6)
    assert maps.tokens[2] == ("[property]", "I8", "I9")
    assert np.all(maps.weights[2, :, :, 3:, :] == 0) and np.all(maps.weights[2, :, :, :, 3:] == 0)
    np.testing.assert_allclose(maps.weights[2, :, :, :3].sum(-1), 1.0, rtol=1e-5)
    rollout = maps.rollout()
    np.testing.assert_allclose(rollout[1].sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(rollout[2, :3].sum(-1), 1.0, rtol=1e-6)


def test_summary_shares_agree_with_maps_and_ignore_padding():
    mixer = tiny_mixer()
    summary = attention_summary(mixer, tiny_cases(), batch_size=2)
    maps = attention_maps(mixer, tiny_cases())
    expected_layers = 1 - maps.weights[:, :, :, 0, 0].mean(-1)
    np.testing.assert_allclose(summary.layer_share, expected_layers, rtol=1e-5)
    np.testing.assert_allclose(summary.rollout_share, 1 - maps.rollout()[:, 0, 0], rtol=1e-5)
    np.testing.assert_allclose(summary.head_share,
                               (1 - maps.weights[:, :, :, 0, 0]).mean(0), rtol=1e-5)
    padded = attention_summary(mixer, tiny_cases(extra_padding=3))
    np.testing.assert_allclose(padded.rollout_share, summary.rollout_share, rtol=1e-5)
    assert np.all((summary.rollout_share > 0) & (summary.rollout_share < 1))


def test_summary_flags_a_model_that_barely_reads_the_recipe():
    mixer, cases = tiny_mixer(), tiny_cases()
    assert not attention_summary(mixer, cases, threshold=0.0).flagged
    flagged = attention_summary(mixer, cases, threshold=1.0)
    out = flagged.to_dict()
    assert flagged.flagged and out["flagged"] and "barely reads the recipe" in out["message"]
    assert out["per_property"]["p"]["n"] == 2 and out["per_property"]["q"]["flagged"]
    assert len(out["layers"]) == 2 and set(out["rollout"]["quantiles"]) == {
        "q05", "q25", "q50", "q75", "q95"}
    # a property token that only attends to itself reads nothing
    deaf = np.zeros((1, 2, 2, 3, 3))
    deaf[..., 0, 0] = 1
    deaf[..., 1:, :] = 1 / 3
    assert attention_rollout(deaf)[0, 0, 0] == pytest.approx(1.0)
