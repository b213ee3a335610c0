"""The stage-2 run behind ``xai report``: every analysis of a trained model, as one JSON-able dict.

:func:`run_audit` calls the analysers on a capped, seeded sample of test cases (so a report on
the built-in data takes well under a minute) and returns a plain dict: the data summary,
accuracy with the test predictions for parity plots and a baseline comparison on the model's own
split, attention, attributions with their checks, their stability across the members of a
cross-fitted ensemble, representations, substitution experiments, hypothesis verdicts, learning
dynamics, experiment results found in a folder, the review cases, and provenance. Every number
is kept exact; non-finite values become ``None`` (JSON ``null``). Nothing here draws or writes
files: ``reports`` lays the dict out.

A section whose analysis fails is kept as ``{"available": False, "reason": ...}`` so one broken
analysis does not cost the whole audit; ``results["problems"]`` lists them.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from models.data import Dataset
from models.fingerprint import Scope, analysis_scope
from models.io import strict_json
from models.pipeline import dataset_hash
from models.summary import summarize
from models.trained import TrainedModel
from xai.attribution.results import Attribution
from xai.attribution.units import (
    add_original_units,
    conversions,
    importance_in_original_units,
)
from xai.cases import Cases, auto_absence
from xai.checks.fitness import fitness_verdicts
from xai.runs import audit_attributions as explain
from xai.runs.audit_accuracy import accuracy_section
from xai.runs.explain import ExplainResult
from xai.runs.explain import explain as run_explain
from xai.runs.settings import AuditSettings

SCHEMA_VERSION = 1
PACKAGES = ("mixer-xai", "torch", "numpy", "pandas", "scipy", "scikit-learn", "captum", "shap",
            "umap-learn", "matplotlib", "jinja2", "safetensors")
UNITS = ("Attributions, model-unit predictions and prediction changes are in each property's "
         "standardised model units (after the log transform where one applies); measured and "
         "predicted values and accuracy metrics are in original units.")


@dataclass(frozen=True)
class Audit:
    """What :func:`run_audit` found: the JSON-able ``results`` and the long attribution table
    (None when the attributions could not be computed)."""

    results: dict
    attributions: pd.DataFrame | None


@dataclass
class _Run:
    """Bookkeeping while sections are computed: timings and problems."""

    say: Callable[[str], None]
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def section(self, name: str, compute: Callable[[], dict]) -> dict:
        self.say(f"  {name}")
        start = time.perf_counter()
        try:
            out = compute()
        except ImportError as err:
            out = {"available": False, "reason": f"analysis not installed ({err})"}
            self.problems.append(f"{name}: {out['reason']}")
        except Exception as err:  # an analysis bug must not cost the rest of the report
            out = {"available": False, "reason": f"failed: {type(err).__name__}: {err}"}
            self.problems.append(f"{name}: {out['reason']}")
        self.timings[name] = time.perf_counter() - start
        return out


def run_audit(
    model: TrainedModel,
    dataset: Dataset,
    *,
    model_dir: str | Path | None = None,
    settings: AuditSettings | None = None,
    say: Callable[[str], None] | None = None,
) -> Audit:
    """Run every analysis on ``model`` and ``dataset``.

    ``settings`` default to :class:`~xai.runs.settings.AuditSettings`; an absence left at None
    ("auto") is resolved here, once, from the explained cases (balance when they hold the
    data's balance ingredient, else removed), and results record the resolved settings.
    ``model_dir`` (the checkpoint folder) is hashed for provenance; ``say`` receives one line
    per section as it starts.
    """
    settings = settings or AuditSettings()
    run = _Run(say or (lambda _: None))
    started = datetime.now(UTC)
    groups = dataset.ingredient_groups()
    scope = analysis_scope(model, dataset)
    run.say(f"  {scope.note}")
    selection = explain.select_cases(model, dataset, max_cases=settings.max_cases,
                                     review_formulations=settings.review_formulations,
                                     seed=settings.seed, scope=scope,
                                     absence=settings.explain.absence)
    cases = selection.cases
    if settings.explain.absence is None:
        settings = settings.with_absence(auto_absence(cases))
    absence = settings.explain.absence
    results: dict = {"schema_version": SCHEMA_VERSION, "units": UNITS,
                     "options": settings.to_dict(), "scope": scope.to_dict()}
    results["data"] = run.section("data", lambda: _data(dataset))
    results["accuracy"] = run.section("accuracy",
                                      lambda: accuracy_section(model, dataset, settings, scope))
    state: dict = {}

    def attributions() -> dict:
        result = run_explain(model, cases, settings.explain, truth=dataset.truth)
        state["explained"] = result
        state["interactions"] = explain.review_interactions(
            model, cases.select(selection.review_rows), absence=absence,
            max_players=settings.explain.interaction_max_players)
        return {
            "absence": str(absence),
            "balance_ingredient": cases.balance_ingredient,
            "sampled": {"pool": selection.pool, "n_candidates": selection.n_candidates,
                        "n_cases": len(cases), "n_formulations": len(set(cases.formulation_ids)),
                        "n_review_formulations": len(selection.review_ids)},
            **explain.explain_summary(result, cases),
            "sign_disagreement": explain.method_signs(result.attributions),
            "strongest_interactions": explain.strongest_pairs(result.interactions),
            "unit_conversion": conversions(model.encoder.scalers),
            "reference_check": _reference_check(model, cases, result, settings),
        }

    results["attributions"] = run.section("attributions", attributions)
    if results["attributions"].get("global"):
        results["attributions"]["importance_original_units"] = importance_in_original_units(
            results["attributions"]["global"]["shapley"]["properties"],
            conversions(model.encoder.scalers))
    explained = state.get("explained")
    missing = {"available": False, "reason": "the attributions could not be computed"}
    results["attention"] = missing if explained is None else run.section(
        "attention", lambda: explain.attention_section(
            model, cases, explained.attention, selection.review_rows,
            n_samples=settings.attention_samples))
    results["stability"] = missing if explained is None else run.section(
        "stability", lambda: explain.stability_section(model, cases, settings.explain))
    results["review"] = missing if explained is None else run.section("review", lambda: {
        "cases": add_original_units(
            explain.review_cases(model, cases, selection.review_rows,
                                 explained.attributions["ig"], explained.attributions["shapley"],
                                 state["interactions"], groups),
            conversions(model.encoder.scalers)),
        "absence": str(absence), "top_k": explain.TOP_K, "flag_share": explain.FLAG_SHARE,
    })
    represented = run.section("representations",
                              lambda: _represent(model, dataset, settings, scope))
    for key in ("representations", "substitution", "hypotheses", "dynamics"):
        results[key] = represented.get(key, represented)
    results["dynamics"] = _dynamics(model, results["dynamics"])
    results["experiments"] = run.section("experiments", lambda: read_experiments(
        settings.experiments))
    results["provenance"] = _provenance(model, dataset, model_dir, settings, started,
                                        run.timings)
    results["problems"] = run.problems
    results["verdicts"] = run.section("verdicts", lambda: fitness_verdicts(results))
    table = None
    if explained is not None:
        table = attribution_frame(explained.attributions["ig"],
                                  explained.attributions["shapley"], groups)
    return Audit(results=jsonable(results), attributions=table)


def _reference_check(model: TrainedModel, cases: Cases, result: ExplainResult,
                     settings: AuditSettings) -> dict:
    """Our Shapley values and Integrated Gradients on a seeded sample of the cases against
    shap's KernelExplainer on every coalition (exact values) and captum's IntegratedGradients,
    under the same absence."""
    from xai.checks.reference import reference_check

    if settings.reference_cases < 1:
        off = {"available": False, "reason": "turned off (reference_cases = 0)"}
        return {"shap": off, "captum": dict(off)}
    return reference_check(model.mixer, cases, shapley=result.attributions["shapley"],
                           ig=result.attributions["ig"], n_cases=settings.reference_cases,
                           max_players=settings.reference_max_players,
                           ig_steps=settings.reference_ig_steps, seed=settings.seed)


def attribution_frame(ig: Attribution, shap: Attribution, groups: dict[str, str]) -> pd.DataFrame:
    """Both attribution sets as one long table: one row per formulation x property x
    ingredient x method (``ig`` or ``shapley``), with the ingredient's group."""
    frame = pd.concat([ig.to_frame(), shap.to_frame()], ignore_index=True)
    frame["method"] = frame["method"].where(frame["method"] == "ig", "shapley")
    frame.insert(3, "group", [groups.get(i, "") for i in frame["ingredient"]])
    frame["units"] = "standardised model units"
    return frame


def jsonable(value):
    """``value`` with numpy types as Python ones and NaN / infinity as None (the project's
    strict-JSON policy, :func:`models.io.strict_json`)."""
    return strict_json(value)


def read_experiments(folder: str | Path | None) -> dict:
    """Every ``*.json`` result in ``folder`` (written by ``xai experiment`` / ``xai sweep``),
    keyed by file name; files that are not valid JSON are listed under ``unreadable``."""
    if folder is None:
        return {"available": False, "reason": "no --experiments folder given", "results": {}}
    folder = Path(folder)
    if not folder.is_dir():
        return {"available": False, "reason": f"{folder} is not a folder", "results": {}}
    found, unreadable = {}, []
    for file in sorted(folder.rglob("*.json")):
        try:
            found[str(file.relative_to(folder))] = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as err:
            unreadable.append(f"{file.name}: {err}")
    return {"available": bool(found), "folder": str(folder), "results": found,
            "unreadable": unreadable,
            "reason": "" if found else f"no JSON results in {folder}"}


def _data(dataset: Dataset) -> dict:
    summary = summarize(dataset).to_dict()
    groups = dataset.ingredient_groups()
    by_group: dict[str, int] = {}
    for name in dataset.ingredient_names:
        by_group[groups.get(name, "")] = by_group.get(groups.get(name, ""), 0) + 1
    return {
        **summary,
        "root": str(dataset.root),
        "ingredient_groups": groups,
        "ingredients_per_group": by_group,
        "property_groups": dataset.property_groups(),
        "property_transforms": dataset.property_transforms(),
        "property_units": dataset.property_units(),
        "amount_unit": dataset.amount_unit,
        "ingredient_names": _readable_names(dataset),
        "has_truth": dataset.truth is not None,
    }


def _readable_names(dataset: Dataset) -> dict[str, str]:
    """Ingredient code -> readable name from ingredients.csv (only those given one)."""
    t = dataset.ingredients
    if t is None or "name" not in t.columns:
        return {}
    t = t[t["name"] != ""]
    return dict(zip(t["ingredient"], t["name"], strict=True))


def _represent(model: TrainedModel, dataset: Dataset, settings: AuditSettings,
               scope: Scope) -> dict:
    from xai.runs.represent import represent

    ids = list(scope.formulation_ids)
    if len(ids) > settings.represent_formulations:
        rng = np.random.default_rng(settings.seed)
        ids = sorted(rng.choice(ids, settings.represent_formulations, replace=False).tolist())
    result = represent(model, dataset, formulation_ids=ids, settings=settings.represent,
                       seed=settings.seed)
    d = result.to_dict()
    g = result.ingredients
    d["ingredients"]["distances"] = g.distances().tolist()
    d["properties"]["distances"] = result.properties.distances().tolist()
    return {
        "representations": {"ingredients": d["ingredients"], "properties": d["properties"],
                            "truth": d["truth"], "settings": d["settings"], "units": d["units"]},
        "substitution": {"ingredients": d["substitution"],
                         "properties": d["property_substitution"]},
        "hypotheses": {"verdicts": d["hypotheses"], "correction": d["settings"]["correction"],
                       "truth": (d["truth"] or {}).get("hypotheses")},
        "dynamics": d["dynamics"],
    }


def _dynamics(model: TrainedModel, embedding: dict) -> dict:
    """Loss curves from the training history beside the embedding dynamics (when snapshots
    were kept)."""
    h = model.history
    return {
        "epochs": [e.get("epoch") for e in h.epochs],
        "train_loss": [e.get("train_loss") for e in h.epochs],
        "validation_loss": [e.get("validation_loss") for e in h.epochs],
        "lr": [e.get("lr") for e in h.epochs],
        "best_epoch": h.best_epoch,
        "stop_reason": h.stop_reason,
        "embeddings": embedding,
    }


def _provenance(model: TrainedModel, dataset: Dataset, model_dir, settings: AuditSettings,
                started: datetime, timings: dict) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    checkpoint = None
    if model_dir is not None and (Path(model_dir) / "model.safetensors").is_file():
        checkpoint = _sha256(Path(model_dir) / "model.safetensors")
    data_hash = dataset_hash(dataset)
    trained_on = (model.provenance or {}).get("data_hash")
    return {
        "created": started.isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "seeds": {"training": model.train_config.seed,
                  "split": None if model.split is None else model.split.seed,
                  "audit": settings.seed},
        "config": {"mixer": model.mixer.config.to_dict(), "train": model.train_config.to_dict(),
                   "audit": settings.to_dict()},
        "data": {"root": str(dataset.root), "hash": data_hash, "trained_on_hash": trained_on,
                 "same_as_training": None if trained_on is None else trained_on == data_hash},
        "checkpoint": {"path": None if model_dir is None else str(model_dir),
                       "sha256": checkpoint},
        "timings_seconds": dict(timings),
    }


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
