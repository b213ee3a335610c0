"""Views of the data summary and of accuracy per property."""

from __future__ import annotations

from reports.figures import accuracy as figs
from reports.format import count, fixed, num, pct
from reports.palette import Palette
from reports.views.common import (
    SMALL_SAMPLE,
    cell,
    figure,
    group_cell,
    is_available,
    n_cell,
    section,
    table,
    text,
    unavailable,
)

BASELINE_NAMES = {"ridge": "ridge", "random_forest": "random forest",
                  "gradient_boosting": "gradient boosting"}


def data_section(data: dict, palette: Palette) -> dict:
    title = "Data"
    if not is_available(data):
        return unavailable("data", title, data)
    per_recipe = data["ingredients_per_recipe"]
    reading = (f"{count(data['n_formulations'])} formulations with "
               f"{count(data['n_measurements'])} measurements of {data['n_properties']} "
               f"properties, using {data['n_ingredients']} ingredients "
               f"({count(per_recipe['min'])} to {count(per_recipe['max'])} per recipe, "
               f"median {num(per_recipe['median'])}).")
    groups = data.get("property_groups", {})
    transforms = data.get("property_transforms", {})
    units = data.get("property_units") or {}
    rows = [(p, units.get(p) or "\u2013", groups.get(p, "") or "\u2013",
             transforms.get(p, "identity"), count(n))
            for p, n in sorted(data["measurements_per_property"].items(),
                               key=lambda kv: (-kv[1], kv[0]))]
    blocks = [
        table(["quantity", "value"], [
            ("formulations", count(data["n_formulations"])),
            ("measurements", count(data["n_measurements"])),
            ("ingredients", count(data["n_ingredients"])),
            ("properties", count(data["n_properties"])),
            ("ingredients per recipe (min / median / mean / max)",
             " / ".join(num(per_recipe[k]) for k in ("min", "median", "mean", "max"))),
            ("repeated (formulation, ingredient) rows summed", count(data["duplicate_pairs"])),
            ("ground truth (truth.json)", "yes" if data.get("has_truth") else "no"),
            ("amount unit", data.get("amount_unit") or "as given"),
        ], caption="Dataset", numeric=(1,)),
        table(["property", "unit", "group", "transform", "measurements"], rows,
              caption="Measurements per property", numeric=(4,)),
    ]
    per_group = data.get("ingredients_per_group") or {}
    if per_group and set(per_group) != {""}:
        named = {g or "ungrouped": n for g, n in per_group.items()}
        blocks.append(figure(
            figs.count_bars(named, title="ingredients per expert group", xlabel="ingredients",
                            colours={g: palette.group_colour(g) for g in named}),
            "Bar chart of the number of ingredients in each expert group"))
    frequency = data.get("ingredient_frequency") or {}
    if frequency:
        top = list(frequency.items())[:12]
        blocks.append(table(
            ["ingredient", "group", "recipes", "share of recipes"],
            [(palette.label(name), group_cell(palette.group_of(name), palette), count(n),
              pct(n / max(data["n_formulations"], 1))) for name, n in top],
            caption=f"Most used ingredients (12 of {len(frequency)})", numeric=(2, 3)))
    blocks.append(figure(
        figs.count_bars(data["measurements_per_property"], title="measurements per property",
                        xlabel="measurements"),
        "Bar chart of the number of measurements of each property"))
    for w in data.get("warnings", []):
        blocks.append(text(w, "warning"))
    return section("data", title, reading, blocks)


def accuracy_section(accuracy: dict, transforms: dict[str, str],
                     units: dict[str, str] | None = None) -> dict:
    title = "Accuracy"
    if not is_available(accuracy):
        return unavailable("accuracy", title, accuracy)
    props = accuracy["properties"]
    baselines = accuracy.get("baselines") or {}
    models = baselines.get("models", {})
    best = baselines.get("best", {})
    units = units or {}
    rows, relative = [], {"Mixer": {}}
    wins = compared = 0
    for prop in sorted(props):
        t = props[prop]["test"]
        b_name = best.get(prop)
        b = models.get(b_name, {}).get(prop, {}) if b_name else {}
        mean_rmse = t.get("mean_predictor_rmse")
        if t.get("rmse") is not None and mean_rmse:
            relative["Mixer"][prop] = t["rmse"] / mean_rmse
        for name, entries in models.items():
            e = entries.get(prop, {})
            if e.get("rmse") is not None and mean_rmse:
                relative.setdefault(BASELINE_NAMES.get(name, name), {})[prop] = (
                    e["rmse"] / mean_rmse)
        verdict = cell("\u2013")
        if t.get("rmse") is not None and b.get("rmse") is not None:
            compared += 1
            better = t["rmse"] < b["rmse"]
            wins += better
            verdict = cell("Mixer" if better else BASELINE_NAMES.get(b_name, b_name),
                           cls="good" if better else "bad")
        rows.append((prop, units.get(prop) or "\u2013", n_cell(t["n"]), num(t["mae"]),
                     num(t["rmse"]), fixed(t["r2"]),
                     fixed(t.get("r2_log")), num(mean_rmse), fixed(t.get("oracle_r2")),
                     BASELINE_NAMES.get(b_name, b_name or "\u2013"), num(b.get("rmse")),
                     fixed(b.get("r2")), verdict))
    summary = accuracy.get("summary", {})
    if summary.get("properties_200plus"):
        reading = (f"Median test R\u00b2 {fixed(summary.get('median_test_r2_200plus'))} over the "
                   f"{summary['properties_200plus']} properties with at least 200 measurements")
    else:
        reading = "No property has the 200 measurements the headline median R\u00b2 needs"
    if compared:
        reading += (f"; the Mixer has a lower test RMSE than the best bag-of-amounts baseline "
                    f"on {wins} of {compared} properties")
    losers = summary.get("loses_to_mean_predictor_100plus") or []
    reading += "." if not losers else (
        f"; it does not beat the mean predictor on {', '.join(losers)}.")
    split = accuracy.get("split", {})
    blocks = [
        text(f"Test split: {count(split.get('n_test'))} formulations "
             f"({split.get('method', '')} split, seed {split.get('seed')}); training "
             f"{count(split.get('n_train'))}, validation {count(split.get('n_validation'))}. "
             "Errors in original units; R\u00b2 log scores the logarithms of log-transformed "
             "properties (in original units a few very large values rule R\u00b2); the oracle "
             "R\u00b2 scores the noise-free truth on the same rows (the ceiling), where the data "
             "have one.", "note"),
        table(["property", "unit", "n", "MAE", "RMSE", "R\u00b2", "R\u00b2 log",
               "mean-predictor RMSE", "oracle R\u00b2", "best baseline", "baseline RMSE",
               "baseline R\u00b2", "lower RMSE"], rows,
              caption="Test accuracy per property (MAE and RMSE in each property's unit)",
              note=f"n marked small: fewer than {SMALL_SAMPLE} test measurements.",
              numeric=(2, 3, 4, 5, 6, 7, 8, 10, 11)),
    ]
    parity = accuracy.get("parity", {})
    r2 = {p: props[p]["test"].get("r2") for p in props}
    if parity:
        blocks.append(figure(figs.parity_grid(parity, transforms, r2, units=units),
                             "Parity plots of measured against predicted values per property",
                             "Measured against predicted on the test split, original units "
                             "(dashed: identity; log axes for log-transformed properties)."))
    if len(relative) > 1:
        blocks.append(figure(figs.error_comparison(relative),
                             "Bar chart of test RMSE relative to the mean predictor per model",
                             f"Baselines: {baselines.get('features', '')}, fitted on the "
                             "Mixer's training split."))
    elif "baselines" not in accuracy:
        blocks.append(text("Baselines were not fitted for this report.", "note"))
    blocks.append(interval_coverage(accuracy.get("conformal")))
    if accuracy.get("by_rarest_ingredient"):
        blocks.append(error_by_rarest(accuracy["by_rarest_ingredient"], units))
    return section("accuracy", title, reading, blocks)


def error_by_rarest(by_rarest: dict, units: dict[str, str]) -> dict:
    """Test RMSE by how many training recipes held a recipe's rarest ingredient."""
    bins = by_rarest["bins"]
    rows = []
    for prop, groups in sorted(by_rarest["properties"].items()):
        cells = [f"{num(g['rmse'])} ({count(g['n'])})" if g["n"] else "\u2013"
                 for g in groups]
        rows.append((prop, units.get(prop) or "\u2013", *cells))
    return table(["property", "unit", *(f"rarest seen {b}" for b in bins)], rows,
                 caption="Test RMSE (n) by how many training recipes held the recipe's rarest "
                         "ingredient",
                 note=f"Counted in {by_rarest.get('counted_in', 'the training recipes')}. "
                      "Errors in each property's unit; an error that grows to the left is the "
                      "model's uncertainty about rarely seen ingredients.",
                 numeric=tuple(range(2, 2 + len(bins))))


def interval_coverage(conformal: dict | None) -> dict:
    """The prediction intervals' coverage on held-out data, measured at training time."""
    if not conformal or not conformal.get("properties"):
        return text("This model has no prediction intervals (a checkpoint trained before they "
                    "existed, or too few held-out recipes to calibrate them).", "note")
    nominal = conformal.get("nominal")
    rows = [(prop, n_cell(e.get("n")), pct(nominal), pct(e.get("coverage"), 1),
             num(e.get("median_width")))
            for prop, e in sorted(conformal["properties"].items())]
    method = {"cv": "the members' mean plus or minus a quantile of the cross-fitted ensemble's "
                    "out-of-fold residuals",
              "cv+": "CV+ from the cross-fitted ensemble's out-of-fold residuals",
              "split": "split-conformal on the validation recipes"}.get(
        conformal.get("method"), str(conformal.get("method") or ""))
    return table(["property", "n", "nominal", "coverage", "median width (model units)"], rows,
                 caption="Prediction intervals: share of held-out measurements inside them",
                 note=f"Intervals: {method}; {conformal.get('held_out', '')}. Widths in "
                      "standardised model units (after the log transform where one applies). "
                      f"n marked small: fewer than {SMALL_SAMPLE} measurements.",
                 numeric=(1, 2, 3, 4))


