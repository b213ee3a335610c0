"""The real-data benchmark's bookkeeping: sets load as datasets, summaries and the page."""

from __future__ import annotations

import pytest

from bench.real_data import TARGET_GAP, summarise, write_set
from bench.real_data_markdown import render
from models.data import load_dataset


def _run(seed, mixer, rf, gb):
    score = lambda r2: {"r2": r2, "rmse": 1 - r2, "mae": 0.5, "n": 20}  # noqa: E731
    rows = [{"size": s, "rarest": c, "y": 1.0, "mixer": 1.1, "random_forest": 0.8,
             "gradient_boosting": 0.9} for s, c in ((1, 0), (2, 3), (5, 12))]
    return {"set": "glass", "seed": seed, "n_train": 80, "n_test": 20, "plan": "p",
            "scores": {"mixer": score(mixer), "random_forest": score(rf),
                       "gradient_boosting": score(gb)},
            "coverage": 0.9, "coverage_all": 0.9, "n_coverage_all": 20, "rows": rows,
            "seconds": 1.0}


def test_summary_compares_with_the_best_baseline_and_renders():
    summary = summarise([_run(0, 0.70, 0.80, 0.60), _run(1, 0.74, 0.78, 0.62)])
    s = summary["glass"]
    assert s["best_baseline"] == "random_forest"
    assert s["gap_r2"] == pytest.approx(0.72 - 0.79)
    assert s["models"]["mixer"]["r2"]["sd"] > 0
    assert set(s["errors_by"]["rarest"]) == {"unseen", "3-9", "10+"}
    page = render(summary, {"date": "d", "command": "c", "seeds": [0, 1], "workers": 1,
                            "seconds": 2.0})
    assert f"missed by {0.07 - TARGET_GAP:.3f}" in page
    assert "0.72 ± 0.03" in page and "MASS::fgl" in page


def test_the_small_synthetic_set_is_a_dataset(tmp_path):
    data = load_dataset(write_set("small-synthetic", tmp_path / "s"))
    assert len(data.formulation_ids) == 400
