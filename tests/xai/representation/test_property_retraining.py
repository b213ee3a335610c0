import json
import math

import numpy as np
import pytest

from models.pipeline import fit_model
from models.splits import random_split
from models.training import TrainConfig
from xai.representation.property_retraining import property_retraining
from xai.representation.property_substitution import property_substitution

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 2, "n_heads": 2, "head_hidden": 16}
LOW, DONOR = "viscosity_6pin_10rpm", "viscosity_4pin_10rpm"


@pytest.mark.parametrize("mode", ["init", "tie"])
def test_untrained_variant_predicts_the_low_property_with_the_donor_vector(mode, tiny_dataset):
    """With zero epochs nothing is trained, so the variant's low-data predictions are exactly
    the base model's donor predictions read with the low-data scaler."""
    config = TrainConfig(epochs=0, seed=3)
    out = property_retraining(tiny_dataset, low_property=LOW, donor=DONOR, seeds=[3],
                              mode=mode, train_config=config, mixer_options=TINY)
    base = fit_model(tiny_dataset, mixer_options=TINY, train_config=config, progress=False,
                     split=random_split(sorted(set(tiny_dataset.measurements["formulation_id"])),
                                        seed=3))
    swapped = property_substitution(base, tiny_dataset, base.split.test, n_bootstrap=20)
    expected = next(r for r in swapped.results
                    if (r.property, r.donor, r.scaler) == (LOW, DONOR, "target"))
    seed = out.per_seed[0]
    assert seed["baseline"]["low"]["mae"] == pytest.approx(expected.own_mae, rel=1e-5)
    assert seed["variant"]["low"]["mae"] == pytest.approx(expected.mae, rel=1e-5)
    assert seed["variant"]["donor"]["mae"] == pytest.approx(seed["baseline"]["donor"]["mae"],
                                                            rel=1e-5)
    assert out.verdict == "too few seeds" and math.isnan(out.rmse_difference.low)


def test_retraining_across_seeds_gives_paired_intervals(tiny_dataset):
    out = property_retraining(tiny_dataset, low_property=LOW, donor=DONOR, seeds=[0, 1],
                              mode="tie", train_config=TrainConfig(epochs=2), mixer_options=TINY)
    d = [r["variant"]["low"]["rmse"] - r["baseline"]["low"]["rmse"] for r in out.per_seed]
    assert out.rmse_difference.estimate == pytest.approx(np.mean(d))
    assert out.rmse_difference.low < out.rmse_difference.estimate < out.rmse_difference.high
    assert out.rmse_difference.method == "t-corrected" and out.rmse_difference.n == 2
    assert 0 <= out.p_value <= 1
    assert [r["seed"] for r in out.per_seed] == [0, 1]
    assert json.loads(json.dumps(out.to_dict()))["mode"] == "tie"


def test_retraining_rejects_bad_input(tiny_dataset):
    with pytest.raises(ValueError, match="mode"):
        property_retraining(tiny_dataset, low_property=LOW, donor=DONOR, seeds=[0], mode="x")
    with pytest.raises(ValueError, match="unknown property"):
        property_retraining(tiny_dataset, low_property="nope", donor=DONOR, seeds=[0])
    with pytest.raises(ValueError, match="donor other"):
        property_retraining(tiny_dataset, low_property=LOW, donor=LOW, seeds=[0])
