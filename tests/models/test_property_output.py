"""Mixer.property_output (the batched-kernel forward) gives the Mixer's own numbers, values and
gradients alike."""

import pytest
import torch
import torch.nn.functional as F

from models.attention import SHORT_KEYS, attend
from models.mixer import MixerConfig, build_mixer


def _batch(n_ingredients: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(6, 7, generator=g) > 0.3
    mask[0] = False  # a recipe with no ingredient at all: only the property token is left
    mask[1] = True
    ids = torch.randint(1, n_ingredients, (6, 7), generator=g) * mask
    amounts = torch.rand(6, 7, generator=g) * 2 * mask
    properties = torch.randint(0, 3, (6,), generator=g)
    return properties, ids, amounts, mask


def _mixer(**options):
    config = dict(n_ingredients=15, n_properties=3, base_dim=8, mixer_dim=16, n_heads=4,
                  head_hidden=8, dropout=0.2)
    config.update(options)
    return build_mixer(MixerConfig(**config), seed=3).eval()


@pytest.mark.parametrize("encoding", ["multiply", "concat", "fourier"])
@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("n_layers", [1, 3])
def test_equals_mixer_forward(encoding, layer_norm, n_layers):
    mixer = _mixer(amount_encoding=encoding, layer_norm=layer_norm, n_layers=n_layers)
    batch = _batch(15)
    with torch.no_grad():
        expected = mixer(*batch)
        got = mixer.property_output(*batch)
    assert got.shape == (6,)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # and in double precision the two agree to rounding
    mixer = mixer.double()
    with torch.no_grad():
        torch.testing.assert_close(mixer.property_output(*batch), mixer(*batch),
                                   rtol=1e-12, atol=1e-12)


def test_no_blocks_and_no_ffn():
    for options in ({"n_layers": 0}, {"ffn_ratio": 0, "n_layers": 2}):
        mixer = _mixer(**options)
        batch = _batch(15, seed=1)
        with torch.no_grad():
            torch.testing.assert_close(mixer.property_output(*batch), mixer(*batch))


def test_replacement_vectors():
    mixer = _mixer(n_layers=2, amount_encoding="fourier")
    batch = _batch(15, seed=2)
    g = torch.Generator().manual_seed(5)
    vectors = torch.randn(6, 7, 8, generator=g)
    tasks = torch.randn(6, 16, generator=g)
    with torch.no_grad():
        expected = mixer(*batch, ingredient_vectors=vectors, property_vectors=tasks)
        got = mixer.property_output(*batch, ingredient_vectors=vectors, property_vectors=tasks)
    torch.testing.assert_close(got, expected)


def test_gradients_match():
    mixer = _mixer(n_layers=3, layer_norm=True).double()
    properties, ids, amounts, mask = _batch(15, seed=4)
    a1 = amounts.double().requires_grad_()
    a2 = amounts.double().requires_grad_()
    mixer(properties, ids, a1, mask).sum().backward()
    mixer.property_output(properties, ids, a2, mask).sum().backward()
    assert a1.grad.abs().sum() > 0
    torch.testing.assert_close(a2.grad, a1.grad, rtol=1e-10, atol=1e-12)


def test_training_mode_is_evaluated_without_dropout():
    mixer = _mixer(n_layers=2, dropout=0.5)
    batch = _batch(15)
    with torch.no_grad():
        expected = mixer(*batch)  # eval mode
        mixer.train()
        torch.testing.assert_close(mixer.property_output(*batch), expected)


@pytest.mark.parametrize("queries", [1, 6])
@pytest.mark.parametrize("keys", [6, SHORT_KEYS + 3])  # both CPU layouts
def test_attend_equals_the_fused_kernel(queries, keys):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(3, 2, queries, 4, generator=g)
    k, v = torch.randn(2, 3, 2, keys, 4, generator=g)
    mask = torch.rand(3, 1, 1, keys, generator=g) > 0.4
    mask[..., 0] = True  # the property token always takes part
    torch.testing.assert_close(attend(q, k, v, mask),
                               F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    torch.testing.assert_close(attend(q, k, v, None), F.scaled_dot_product_attention(q, k, v))
    # and so are the gradients Integrated Gradients takes through it
    ours = [t.clone().requires_grad_() for t in (q, k, v)]
    fused = [t.clone().requires_grad_() for t in (q, k, v)]
    weights = torch.randn(3, 2, queries, 4, generator=g)
    (attend(*ours, mask) * weights).sum().backward()
    (F.scaled_dot_product_attention(*fused, attn_mask=mask) * weights).sum().backward()
    for a, b in zip(ours, fused, strict=True):
        torch.testing.assert_close(a.grad, b.grad)
