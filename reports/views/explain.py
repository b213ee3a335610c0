"""Views of attention and of attributions with their checks."""

from __future__ import annotations

from reports.figures import attention as att_figs
from reports.figures import attributions as figs
from reports.format import count, fixed, num, pct, signed
from reports.palette import Palette
from reports.views.common import (
    SMALL_SAMPLE,
    cell,
    figure,
    heading,
    is_available,
    legend,
    n_cell,
    num_cell,
    rate_cell,
    section,
    table,
    text,
    unavailable,
)
from reports.views.reference_check import METHODS, reference_blocks, reference_reading
from reports.views.stability import (
    sign_blocks,
    stability_blocks,
    stability_marks,
    stability_reading,
    stable_cell,
)


def attention_section(attention: dict, palette: Palette | None = None) -> dict:
    title = "Attention"
    if not is_available(attention):
        return unavailable("attention", title, attention)
    s = attention["summary"]
    share = s["rollout"]["mean"]
    reading = (f"The property token puts on average {pct(share)} of its rolled-out attention on "
               f"the ingredients over {count(s['n_cases'])} cases"
               + (f": FLAGGED, below {pct(s['threshold'])}, the model barely reads the recipe."
                  if s["flagged"] else f" (flag below {pct(s['threshold'])}: not raised)."))
    rows = [(p, count(e["n"]), " / ".join(pct(v) for v in e["layer_share"]),
             pct(e["rollout_share"]), cell("flagged" if e["flagged"] else "ok",
                                           cls="bad" if e["flagged"] else "good"))
            for p, e in sorted(s["per_property"].items())]
    blocks = [
        text("Share = 1 minus the weight the property token puts on itself, heads averaged; "
             "after rollout the residual connections are folded in (Abnar & Zuidema 2020).",
             "note"),
        table(["property", "cases", "share per layer", "share after rollout", "flag"], rows,
              caption="Attention share of the property token on ingredients",
              numeric=(1, 3)),
        figure(att_figs.share_histogram(attention.get("rollout_share_per_case", []),
                                        s["threshold"]),
               "Histogram of the attention share on ingredients per case"),
    ]
    if s.get("message"):
        blocks.insert(0, text(s["message"], "warning"))
    for sample in attention.get("samples", []):
        blocks.append(figure(
            att_figs.attention_sample([palette.label(t) if palette else t
                                       for t in sample["tokens"]],
                                      sample["layers"], sample["rollout"],
                                      title=f"{sample['formulation_id']} \u2013 "
                                            f"{sample['property']}"),
            f"Attention maps of formulation {sample['formulation_id']} for "
            f"{sample['property']}",
            "Rows attend to columns; heads averaged per layer; last panel: rollout. The colour "
            "scale runs from 0 to the largest weight in the figure, square-root scaled."))
    return section("attention", title, reading, blocks)


def attributions_section(a: dict, palette: Palette, amount_unit: str = "",
                         units: dict[str, str] | None = None,
                         stability: dict | None = None) -> dict:
    """The attributions with their checks; ``stability`` (``results["stability"]``) marks
    which attributions are stable across ensemble members."""
    title = "Attributions"
    if not is_available(a):
        return unavailable("attributions", title, a)
    q = a["quality"]
    sampled = a["sampled"]
    agreement = q.get("agreement") or {}
    agree = agreement.get("overall", {})
    k = agreement.get("k", 3)
    overlap = agree.get(f"top{k}_overlap_mean")
    comp = q["completeness"]
    complete = min(_zero(c["share_within_tolerance"]) for c in comp.values())
    sanity = q.get("sanity_check", {})
    passed = [m for m, c in sanity.items() if c["passed"]]
    reading = (f"Integrated Gradients and Shapley values agree with a mean per-case rank "
               f"correlation of {fixed(agree.get('spearman_mean'))} and share {pct(overlap)} of "
               f"their top {k} ingredients; both are complete to within tolerance on "
               f"{pct(complete)} of cases; the sanity check passes for "
               f"{len(passed)} of {len(sanity)} methods"
               + reference_reading(a.get("reference_check")) + stability_reading(stability)
               + _disagreement_reading(a.get("sign_disagreement")) + ".")
    absence = a["absence"]
    balance = a.get("balance_ingredient")
    settings = a.get("settings", {})
    blocks = [text(
        f"Explained: {count(sampled['n_cases'])} (formulation, property) pairs from "
        f"{count(sampled['n_formulations'])} formulations, a seeded sample of the "
        f"{count(sampled['n_candidates'])} measured pairs of the {sampled['pool']} (the "
        f"{sampled['n_review_formulations']} review formulations with all their properties, "
        f"then random others). Absent ingredient = '{absence}'"
        + (f" (its amount goes to the balance ingredient {balance}, which is not a player)"
           if absence == "balance" and balance else "")
        + ". Attributions are in each property's standardised model units (after the log "
          "transform where one applies), so compare them within a property.", "note")]
    blocks.append(text(_method_note(a.get("attributions", {}), settings), "note"))
    for note in settings.get("notes", []):
        blocks.append(text(note[0].upper() + note[1:] + ".", "note"))

    blocks.append(heading("Global importance per property"))
    importance = {p: e for p, e in a["global"]["shapley"]["properties"].items()}
    blocks.append(legend(palette, {n for e in importance.values() for n in e["ingredients"][:8]}))
    blocks.append(figure(figs.importance_grid(importance, palette),
                         "Bar charts of mean absolute Shapley value per ingredient, per property",
                         "Mean |Shapley value| over the explained cases holding the ingredient; "
                         "colour = ingredient group."))
    original = a.get("importance_original_units") or {}
    marks = stability_marks(stability)
    if original:
        rows = []
        for prop, e in sorted(original.items()):
            unit = (units or {}).get(prop, "")
            for name, model, value, n in zip(e["ingredients"][:3], e["mean_signed"],
                                             e["original"], e["counts"] or [None] * 3,
                                             strict=False):
                shown = (f"\u00d7{num(value)}" if e["kind"] == "factor"
                         else signed(value) + (f" {unit}" if unit else ""))
                rows.append((prop, palette.label(name), num_cell(signed(model)),
                             num_cell(shown), n_cell(n), stable_cell(marks, prop, name)))
        blocks.append(table(
            ["property", "ingredient", "mean Shapley (model units)",
             "in original units", "cases", "across ensemble members"], rows,
            caption="Leading ingredients' mean effect in original units",
            note="Mean signed Shapley value over the explained cases holding the ingredient; "
                 "in original units an amount in the property's unit, or a factor on the "
                 "prediction for log-transformed properties (\u00d71.8: 1.8-fold). Last "
                 "column: whether the ensemble members agree on these Shapley values (see "
                 "'Stability across ensemble members'); read only the stable ones"
                 + ("." if marks else "; \u2013 when the model is not an ensemble."),
            numeric=(2, 3, 4)))
    series = {m: p for m, p in (a.get("dependence") or {}).items() if p}
    if series:
        blocks.append(heading("Attribution versus amount"))
        blocks.append(figure(figs.dependence_grid(series, palette, amount_unit=amount_unit),
                             "Scatter plots of attribution against amount, one series per "
                             "method",
                             "Leading ingredients of the most explained properties; one mark "
                             "per case and method (" + ", ".join(METHODS.get(m, m)
                                                                 for m in series) + ")."))

    blocks.append(heading("Do the methods agree?"))
    if agreement:
        rows = [(p, n_cell(e["n"]), fixed(e["spearman_mean"]), fixed(e["kendall_mean"]),
                 rate_cell(e.get(f"top{k}_overlap_mean"), e["n"]),
                 rate_cell(e["sign_agreement_mean"], e["n"]))
                for p, e in sorted(agreement["per_property"].items())]
        rows.append((cell("all", cls="strong"), count(agree["n"]), fixed(agree["spearman_mean"]),
                     fixed(agree["kendall_mean"]), pct(overlap), pct(agree["sign_agreement_mean"])))
        blocks.append(table(["property", "cases", "Spearman", "Kendall", f"top-{k} overlap",
                             "same sign"], rows, caption="IG versus Shapley, mean over cases",
                            numeric=(1, 2, 3, 4, 5)))
        per_case = agreement.get("per_case", {})
        blocks.append(figure(figs.agreement_histogram(per_case.get("spearman", []),
                                                      per_case.get("top_k", []), k),
                             "Histograms of per-case agreement between IG and Shapley"))
    blocks.extend(sign_blocks(a.get("sign_disagreement"), absence,
                              palette.label(balance) if balance else None, palette))
    order = {p: e["ingredients"] for p, e in importance.items()}
    blocks.extend(stability_blocks(stability, order, palette))

    blocks.append(heading("Completeness"))
    blocks.append(table(
        ["method", "cases", "median |error|", "max |error|", "median relative", "within tolerance"],
        [(METHODS.get(m, m), count(c["n"]), num(c["median_abs_error"]), num(c["max_abs_error"]),
          num(c["median_relative_error"]), pct(c["share_within_tolerance"]))
         for m, c in comp.items()],
        caption="Sum of attributions against f(recipe) \u2212 f(baseline), model units",
        numeric=(1, 2, 3, 4, 5)))

    blocks.extend(reference_blocks(a.get("reference_check")))

    blocks.append(heading("Sanity check"))
    for m, c in sanity.items():
        blocks.append(text(
            f"{METHODS.get(m, m)}: model randomisation (Adebayo et al. 2018) on {c['n_cases']} "
            f"cases, layers re-initialised from the head down; faithful attributions must "
            f"change. Passes when the fully randomised model's similarity is below "
            f"{c['threshold']:g}: {'passed' if c['passed'] else 'FAILED'}.",
            "note" if c["passed"] else "warning"))
        blocks.append(figure(figs.sanity_curve(c["stages"], c["spearman"], c["abs_spearman"],
                                               c["threshold"]),
                             f"Line chart of {METHODS.get(m, m)} similarity as the model is "
                             "randomised"))

    blocks.append(heading("Deletion curves"))
    deletion = q.get("deletion", {})
    rows = []
    for m, d in deletion.items():
        for order, o in d["orders"].items():
            rows.append((METHODS.get(m, m), order, count(d["n_cases"]), num(o["auc_mean"]),
                         num(o["random_auc_mean"]), pct(o["beats_random_share"])))
    blocks.append(table(["method", "order", "cases", "area", "random-order area",
                         "cases beating random"], rows,
                        caption="Area under the deletion curve (lower is better)",
                        numeric=(2, 3, 4, 5)))
    blocks.append(figure(figs.deletion_plot(deletion),
                         "Deletion curves of both methods against random orders"))

    blocks.append(heading("Strongest interactions"))
    strongest = a.get("strongest_interactions", [])
    inter = a.get("interactions") or {}
    if strongest:
        blocks.append(table(
            ["property", "ingredient", "group", "ingredient", "group", "mean interaction",
             "cases"],
            [(e["property"], palette.label(e["a"]), _group(e["a"], palette),
              palette.label(e["b"]), _group(e["b"], palette), signed(e["mean"]), n_cell(e["n"]))
             for e in strongest],
            caption="Pairwise Shapley interactions among each case's five strongest pairs",
            note=f"Exact enumeration on {count(inter.get('n_cases'))} sampled cases with at "
                 f"most {inter.get('max_players')} players; whole-pair interaction in model "
                 f"units. A mean over fewer than {SMALL_SAMPLE} cases is marked small.",
            numeric=(5, 6)))
    else:
        blocks.append(text("No explained case was small enough for exact interaction values.",
                           "note"))
    if a.get("truth"):
        blocks.extend(_truth_blocks(a["truth"]))
    return section("attributions", title, reading, blocks)


def _method_note(described: dict, settings: dict) -> str:
    sh, ig = described.get("shapley", {}), described.get("ig", {})
    exact = (sh.get("exact") or {}).get("share")
    se = (sh.get("max_std_error") or {}).get("max")
    converged = (ig.get("converged") or {}).get("share")
    target = settings.get("shapley_target_se")
    sampled = (f"{settings.get('shapley_permutations')} antithetic permutations" if not target
               else f"antithetic permutations until every standard error is at most "
               f"{num(target)} of |f(recipe) - f(nothing)| (at most "
               f"{settings.get('shapley_permutations')})")
    return (f"Shapley values: exact enumeration for recipes with at most "
            f"{settings.get('shapley_exact_max')} players ({pct(exact)} of cases), otherwise "
            f"{sampled} (largest standard error {num(se)}). Integrated Gradients: nested "
            f"Clenshaw-Curtis quadrature, up to {settings.get('ig_max_steps')} intervals "
            f"({pct(converged)} of cases converged).")


def _truth_blocks(truth: dict) -> list[dict]:
    blocks = [heading("Against the ground truth")]
    rows = []
    for m, scores in truth.get("attribution", {}).items():
        o = scores.get("overall", {})
        n = o.get("n_cases")
        rows.append((METHODS.get(m, m), n_cell(n), fixed(o.get("spearman_mean")),
                     rate_cell(o.get("sign_agreement"), n), rate_cell(o.get("top1_match"), n)))
    if rows:
        blocks.append(table(["method", "cases", "Spearman with oracle", "same sign",
                             "same top ingredient"], rows,
                            caption="Attributions against the oracle's exact Shapley values",
                            note=_sentence(truth.get("settings", {}).get("reference", "")),
                            numeric=(1, 2, 3, 4)))
    effects = truth.get("main_effects", {})
    props = sorted({p for per in effects.values() for p in per})
    props = [p for p in props if any((effects[m].get(p) or {}).get("n_ingredients", 0) >= 3
                                     for m in effects)]
    if props:
        methods = list(effects)
        blocks.append(table(
            ["property", *[f"{METHODS.get(m, m)} Spearman" for m in methods], "ingredients"],
            [(p, *[fixed(effects[m].get(p, {}).get("spearman")) for m in methods],
              count(max(effects[m].get(p, {}).get("n_ingredients", 0) for m in methods)))
             for p in props],
            caption="Mean attribution per unit amount against the true main effects",
            numeric=tuple(range(1, len(methods) + 2))))
    hits = [h for h in truth.get("interactions", []) if h.get("n_cases")]
    if hits:
        blocks.append(table(
            ["property", "families", "cases", "hit rate", "chance"],
            [(h.get("property", ""), " \u00d7 ".join(h.get("families", [])),
              n_cell(h.get("n_cases")), rate_cell(h.get("hit_rate"), h.get("n_cases")),
              pct(h.get("chance_rate")))
             for h in hits],
            caption="Known interactions found among each case's top pairs",
            note="Only interactions with at least one case holding both families are listed; "
                 f"a hit rate over fewer than {SMALL_SAMPLE} cases is marked small.",
            numeric=(2, 3, 4)))
    return blocks


def _disagreement_reading(disagreement) -> str:
    flagged = (disagreement or {}).get("flagged") if is_available(disagreement) else None
    if not flagged:
        return ""
    return (f"; Integrated Gradients and Shapley values have opposite signs in most recipes "
            f"for {count(len(flagged))} (property, ingredient) pair(s)")


def _sentence(value: str) -> str:
    return value[:1].upper() + value[1:]


def _group(name: str, palette: Palette) -> dict:
    g = palette.group_of(name)
    return cell(g, colour=palette.group_colour(g))


def _zero(value) -> float:
    return 0.0 if value is None else float(value)
