"""The audit's stability section on ensembles built from the tiny model: identical copies agree
perfectly, a negated copy disagrees in every sign."""

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from models.ensemble import Ensemble
from xai.absence import players
from xai.cases import auto_absence
from xai.runs.audit import jsonable
from xai.runs.audit_attributions import select_cases, stability_section
from xai.runs.settings import AuditSettings

SCHEMA = Path(__file__).parents[3] / "reports" / "schema" / "results.schema.json"


def with_members(model, mixers):
    members = Ensemble(list(mixers), [()] * len(mixers), [0] * len(mixers), pd.DataFrame())
    return dataclasses.replace(model, ensemble=members)


def negated(mixer):
    """A copy of ``mixer`` whose every prediction is the original's negated."""
    out = copy.deepcopy(mixer)
    last = out.head[-1]
    with torch.no_grad():
        last.weight.neg_()
        last.bias.neg_()
    return out


@pytest.fixture(scope="module")
def setup(tiny_model, tiny_dataset):
    settings = AuditSettings.quick(max_cases=30)
    cases = select_cases(tiny_model, tiny_dataset, max_cases=30, review_formulations=2,
                         seed=0).cases
    return cases, settings.with_absence(auto_absence(cases)).explain


def _entries(section, method):
    return [e for entries in section["methods"][method]["per_property"].values()
            for e in entries]


def test_a_single_model_has_no_stability_section(tiny_model, setup, tiny_audit):
    cases, config = setup
    out = stability_section(tiny_model, cases, config)
    assert out["available"] is False and "ensemble" in out["reason"]
    assert tiny_audit.results["stability"]["available"] is False


def test_identical_members_agree_perfectly(tiny_model, setup):
    cases, config = setup
    model = with_members(tiny_model, [copy.deepcopy(tiny_model.mixer) for _ in range(3)])
    out = stability_section(model, cases, config)
    assert out["n_members"] == 3 and out["n_cases"] == len(cases)
    assert set(out["methods"]) == {"ig", "shapley"}
    for method in ("ig", "shapley"):
        entries = _entries(out, method)
        # every player of every case is in exactly one (property, ingredient) entry
        assert sum(e["n"] for e in entries) == int(players(cases.mask, cases.balance_slot,
                                                           config.absence).sum())
        ranked = [e for e in entries if not np.isnan(e["rank_correlation"])]
        assert ranked and all(e["rank_correlation"] == pytest.approx(1.0) for e in ranked)
        assert all(e["sign_flip_share"] == 0.0 or np.isnan(e["sign_flip_share"])
                   for e in entries)
        assert all(e["stable"] for e in ranked if e["n"] >= 5)


def test_a_negated_member_flips_every_sign_that_counts(tiny_model, setup):
    cases, config = setup
    mixer = tiny_model.mixer
    model = with_members(tiny_model, [copy.deepcopy(mixer), copy.deepcopy(mixer),
                                      negated(mixer)])
    out = stability_section(model, cases, config)
    for method in ("ig", "shapley"):
        entries = _entries(out, method)
        counted = [e for e in entries if e["n_signed"]]
        assert counted and all(e["sign_flip_share"] == 1.0 for e in counted)
        ranked = [e for e in entries if not np.isnan(e["rank_correlation"])]
        assert ranked and all(e["rank_correlation"] == pytest.approx(-1 / 3) for e in ranked)
        assert not any(e["stable"] for e in entries)


def test_the_section_is_strict_json_and_fits_the_schema(tiny_model, setup, tiny_audit):
    jsonschema = pytest.importorskip("jsonschema")
    cases, config = setup
    model = with_members(tiny_model, [copy.deepcopy(tiny_model.mixer), negated(tiny_model.mixer)])
    results = copy.deepcopy(tiny_audit.results)
    results["stability"] = jsonable(stability_section(model, cases, config))
    text = json.dumps(results, allow_nan=False)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(json.loads(text))] == []
    assert any(e["rank_correlation"] is None for entries in
               results["stability"]["methods"]["shapley"]["per_property"].values()
               for e in entries)
