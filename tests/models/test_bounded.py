"""Bounded samples leave data below the bound untouched and sample above it, seeded."""

import json

import numpy as np
import pandas as pd

from models.baselines import baseline_metrics, predict_baselines
from models.bounded import bounded_rows, evaluate_bounded
from models.pipeline import evaluate


def test_bounded_rows_is_the_rows_below_the_cap_and_an_ordered_sample_above():
    rows = pd.DataFrame({"x": np.arange(10)}, index=np.arange(10) * 3)
    assert bounded_rows(rows, 10, 0)["x"].tolist() == list(range(10))
    assert bounded_rows(rows, None, 0)["x"].tolist() == list(range(10))
    sample = bounded_rows(rows, 4, seed=1)["x"].tolist()
    assert len(sample) == 4 and sample == sorted(sample)
    assert sample == bounded_rows(rows, 4, seed=1)["x"].tolist()


def test_evaluate_bounded_equals_evaluate_below_the_bound(tiny_model, tiny_dataset):
    split = tiny_model.split
    full = evaluate(tiny_model, tiny_dataset, split)
    bounded = evaluate_bounded(tiny_model, tiny_dataset, split, seed=0)
    assert json.dumps(bounded.metrics, sort_keys=True) == json.dumps(full, sort_keys=True)
    assert not any(part["sampled"] for part in bounded.sampling.values())
    assert len(bounded.test_rows) == len(bounded.test_predictions) == bounded.sampling["test"]["of"]


def test_evaluate_bounded_samples_the_training_part_only(tiny_model, tiny_dataset):
    bounded = evaluate_bounded(tiny_model, tiny_dataset, tiny_model.split, max_train=50, seed=0)
    assert bounded.sampling["train"]["used"] == 50 and bounded.sampling["train"]["sampled"]
    n_train = sum(m["train"]["n"] for m in bounded.metrics["properties"].values())
    assert n_train == 50
    full = evaluate(tiny_model, tiny_dataset, tiny_model.split)
    for prop, entry in full["properties"].items():  # validation and test in full
        assert (json.dumps(bounded.metrics["properties"][prop]["test"], sort_keys=True)
                == json.dumps(entry["test"], sort_keys=True))


def test_baselines_fit_a_bounded_sample_and_say_so(tiny_model, tiny_dataset):
    split = tiny_model.split
    unbounded = predict_baselines(tiny_dataset, split, seed=0, names=["ridge"])
    roomy = predict_baselines(tiny_dataset, split, seed=0, names=["ridge"], max_train=10**6)
    np.testing.assert_array_equal(roomy.predictions["ridge"], unbounded.predictions["ridge"])
    result = baseline_metrics(tiny_dataset, split, seed=0, names=["ridge"], max_train=100)
    sample = result["training_sample"]
    assert sample["used"] == 100 and sample["of"] > 100 and sample["sampled"]
    assert "training_sample" not in baseline_metrics(tiny_dataset, split, seed=0, names=["ridge"])
