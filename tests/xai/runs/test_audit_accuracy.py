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


def test_errors_by_rarest_ingredient_count_the_training_recipes(tiny_model, tiny_dataset):
    import pandas as pd

    split = tiny_model.split
    counts = audit_accuracy.ingredient_counts(tiny_dataset, split.train)
    f = tiny_dataset.formulations
    first = f[f["formulation_id"] == split.test[0]]
    expected = min(int(f[f["formulation_id"].isin(split.train)
                         & (f["ingredient"] == c)]["formulation_id"].nunique())
                   for c in first["ingredient"])
    assert audit_accuracy.rarest_counts(tiny_dataset, [split.test[0]], counts)[0] == expected
    rows = pd.DataFrame({"property": ["p"] * 5, "value": [0.0, 0.0, 1.0, 1.0, 1.0]})
    out = audit_accuracy.error_by_rarest(rows, np.array([1.0, -1.0, 1.0, 3.0, 1.0]),
                                         np.array([0, 0, 2, 5, 50]))
    groups = {g["bin"]: g for g in out["properties"]["p"]}
    assert groups["unseen"]["n"] == 2 and groups["unseen"]["rmse"] == 1.0
    assert groups["unseen"]["mean_error"] == 0.0
    assert groups["1-2"]["rmse"] == 0.0 and groups["3-9"]["mae"] == 2.0
    assert groups["10+"]["n"] == 1
    section = audit_accuracy.accuracy_section(tiny_model, tiny_dataset,
                                              AuditSettings.quick(baselines=False))
    by = section["by_rarest_ingredient"]
    n_test = sum(g["n"] for groups in by["properties"].values() for g in groups)
    assert n_test == sum(p["test"]["n"] for p in section["properties"].values())
    assert by["counted_in"] == "the training split"


def test_out_of_fold_errors_count_each_members_own_training_recipes(tiny_dataset):
    import pandas as pd

    from models.ensemble import Ensemble

    ids = list(tiny_dataset.formulation_ids)
    folds = [tuple(ids[0::2]), tuple(ids[1::2])]
    oof = pd.DataFrame({"formulation_id": ids, "property": "p", "value": 1.0,
                        "member": [i % 2 for i in range(len(ids))]})
    oof["prediction"] = oof["value"] + 2.0
    out = audit_accuracy._oof_by_rarest(Ensemble([], folds, [0, 0], oof), tiny_dataset)
    groups = out["properties"]["p"]
    assert sum(g["n"] for g in groups) == len(ids)
    assert all(g["rmse"] == 2.0 for g in groups if g["n"])
    # recipe 0 was predicted by member 0, which trained on fold 1 only
    own = audit_accuracy.ingredient_counts(tiny_dataset, folds[1])
    expected = audit_accuracy.rarest_counts(tiny_dataset, [ids[0]], own)[0]
    label = next(lab for low, high, lab in audit_accuracy.RAREST_BINS
                 if expected >= low and (high is None or expected <= high))
    assert next(g for g in groups if g["bin"] == label)["n"] >= 1
