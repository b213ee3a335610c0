"""The audit's accuracy section: one prediction of each part, bounded samples, stated."""

import numpy as np

from xai.runs import audit_accuracy
from xai.runs.settings import AuditSettings


def test_parity_points_are_the_test_predictions_below_the_bound(tiny_model, tiny_dataset):
    settings = AuditSettings(baselines=False)
    out = audit_accuracy.accuracy_section(tiny_model, tiny_dataset, settings)
    test = out["properties"]
    for prop, points in out["parity"].items():
        assert len(points["measured"]) == test[prop]["test"]["n"]
        if points["measured"]:
            err = np.abs(np.subtract(points["measured"], points["predicted"]))
            assert np.isclose(err.mean(), test[prop]["test"]["mae"])
    assert not out["sampling"]["train"]["sampled"]
    assert "training metrics" in out["sampling"]["note"]


def test_bounds_are_applied_and_recorded(tiny_model, tiny_dataset, monkeypatch):
    monkeypatch.setattr(audit_accuracy, "MAX_PARITY_POINTS", 3)
    monkeypatch.setattr(audit_accuracy, "MAX_TRAIN_MEASUREMENTS", 40)
    out = audit_accuracy.accuracy_section(tiny_model, tiny_dataset, AuditSettings())
    assert out["sampling"]["train"] == {"used": 40, "of": out["sampling"]["train"]["of"],
                                        "sampled": True, "seed": 0}
    assert all(len(p["measured"]) <= 3 for p in out["parity"].values())
    assert out["baselines"]["training_sample"]["used"] == 40
