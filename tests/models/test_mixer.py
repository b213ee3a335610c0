import pytest
import torch

from models.mixer import AMOUNT_ENCODINGS, MixerConfig, build_mixer


def make(encoding="multiply", **options):
    shape = dict(base_dim=8, mixer_dim=16, n_layers=2, n_heads=2) | options
    config = MixerConfig(n_ingredients=12, n_properties=3, amount_encoding=encoding, **shape)
    return build_mixer(config, seed=0).eval()


def recipe_batch():
    ids = torch.tensor([[3, 5, 7, 0, 0], [1, 2, 4, 6, 9]])
    amounts = torch.tensor([[0.5, 0.3, 0.2, 0.0, 0.0], [0.1, 0.2, 0.3, 0.25, 0.15]])
    return torch.tensor([0, 2]), ids, amounts, ids != 0


@pytest.mark.parametrize("encoding", AMOUNT_ENCODINGS)
def test_ingredient_order_does_not_matter(encoding):
    mixer = make(encoding)
    prop, ids, amounts, mask = recipe_batch()
    perm = torch.tensor([4, 2, 0, 3, 1])
    with torch.no_grad():
        a = mixer(prop, ids, amounts, mask)
        b = mixer(prop, ids[:, perm], amounts[:, perm], mask[:, perm])
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("encoding", AMOUNT_ENCODINGS)
def test_padding_does_not_change_a_prediction(encoding):
    mixer = make(encoding)
    prop, ids, amounts, mask = recipe_batch()
    pad = torch.zeros(2, 7, dtype=torch.long)
    # padded slots hold junk amounts: the mask alone must hide them
    junk = torch.full((2, 7), 3.0)
    with torch.no_grad():
        a = mixer(prop, ids, amounts, mask)
        b = mixer(prop, torch.cat([ids, pad], 1), torch.cat([amounts, junk], 1),
                  torch.cat([mask, pad.bool()], 1))
        single = mixer(prop[:1], ids[:1, :3], amounts[:1, :3], mask[:1, :3])
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[:1], single)


@pytest.mark.parametrize("encoding", AMOUNT_ENCODINGS)
def test_amount_changes_the_prediction(encoding):
    mixer = make(encoding)
    prop, ids, amounts, mask = recipe_batch()
    with torch.no_grad():
        a = mixer(prop, ids, amounts, mask)
        b = mixer(prop, ids, amounts * 1.5, mask)
    assert torch.all((a - b).abs() > 1e-6)


def test_attention_weights_are_returned_per_layer_and_head():
    mixer = make(n_layers=3)
    prop, ids, amounts, mask = recipe_batch()
    with torch.no_grad():
        prediction, attention = mixer(prop, ids, amounts, mask, return_attention=True)
        fused = mixer(prop, ids, amounts, mask)
    torch.testing.assert_close(prediction, fused)
    assert len(attention) == 3
    assert attention[0].shape == (2, 2, 6, 6)
    torch.testing.assert_close(attention[0].sum(-1), torch.ones(2, 2, 6))
    # padded keys get no attention
    assert torch.all(attention[0][0, :, :, 4:] == 0)


def test_substituted_vectors_equal_to_the_originals_change_nothing():
    mixer = make(code_activation="tanh")
    prop, ids, amounts, mask = recipe_batch()
    with torch.no_grad():
        a = mixer(prop, ids, amounts, mask)
        b = mixer(prop, ids, amounts, mask, ingredient_vectors=mixer.ingredient_vectors(ids),
                  property_vectors=mixer.property_table()[prop])
    torch.testing.assert_close(a, b)


def test_tables_exclude_padding():
    mixer = make()
    assert mixer.ingredient_table().shape == (11, 8)
    assert mixer.property_table().shape == (3, 16)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="amount_encoding"):
        MixerConfig(n_ingredients=3, n_properties=1, amount_encoding="add")
    with pytest.raises(ValueError, match="divisible"):
        MixerConfig(n_ingredients=3, n_properties=1, mixer_dim=10, n_heads=4)


def test_dose_feature_is_the_log_of_amount_over_the_floor():
    mixer = make("concat", log_dose_floor=0.01)
    vectors = torch.randn(1, 3, 8)
    amounts = torch.tensor([[0.0, 0.005, 0.4]])
    a = amounts.unsqueeze(-1)
    expected = mixer.project(torch.cat([vectors, a, torch.log1p(a / 0.01)], -1))
    torch.testing.assert_close(mixer.encode_amounts(vectors, amounts), expected)
    # without the floor the projection reads the code vector and the amount only
    assert make("concat", log_dose_floor=0.0).project.in_features == 8 + 1

