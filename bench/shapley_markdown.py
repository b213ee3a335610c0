"""Section 1 of BENCHMARKS.md: Shapley values against shap's explainers."""

from __future__ import annotations

from bench.number_format import num as _num
from bench.number_format import pct as _pct
from xai.attribution.constants import FIRST_ROUND

__all__ = ["shapley_section"]


def shapley_section(s: dict) -> str:
    c = s["config"]
    out = ["## 1. Shapley values", "",
           f"One trained Mixer, property `{c['property']}`, absence `removed`; "
           f"{c['recipes_per_size']} recipes per size, one call per recipe (median over the "
           "recipes). shap's explainers run through `xai.checks.reference` (plain Mixer forward, "
           "same absence definition, default sample counts). Errors are against this project's "
           "exact values: largest absolute error over ingredients, and the largest L1 error as a "
           "share of |f(recipe) - f(nothing)|.", "",
           "| ingredients | method | s per recipe | max abs error | L1 error / sum |",
           "|---|---|---|---|---|"]
    for n, size in s["sizes"].items():
        for name, m in size["methods"].items():
            out.append(f"| {n} | {_METHOD_NAMES.get(name, name)} | {_num(m['median_s'])} | "
                       f"{_num(m['max_abs_error'])} | {_pct(m['max_rel_error'])} |")
        best = size["sampled"][-1]
        sampler = size.get("sampler", "permutation")
        out.append(f"| {n} | sampled ({sampler}), {best['permutations']} permutations' budget | "
                   f"{_num(best['median_s'])} | {_num(best['max_abs_error'])} | "
                   f"{_pct(best['max_rel_error'])} |")
    sampler = next((size.get("sampler") for size in s["sizes"].values()), None) or (
        "permutation")
    out += ["", f"Sampled estimator ({sampler} sampler; KernelSHAP with complete strata and "
            "paired sampling, or antithetic permutations) by budget, in permutations' worth of "
            "model evaluations (n_permutations x (n - 1) coalitions; a budget that covers every "
            "coalition enumerates them): seconds per recipe, max abs error, and the largest "
            "standard error as a share of |f(recipe) - f(nothing)|.", "",
            "| ingredients | budget (permutations) | s per recipe | max abs error | "
            "largest SE / sum |",
            "|---|---|---|---|---|"]
    for n, size in s["sizes"].items():
        for g in size["sampled"]:
            matched = " (matched to KernelExplainer's time)" if g.get("matched_to_kernel") else ""
            out.append(f"| {n} | {g['permutations']}{matched} | {_num(g['median_s'])} | "
                       f"{_num(g['max_abs_error'])} | {_pct(g['max_se_ratio'])} |")
    adaptive = {n: size["to_target"] for n, size in s["sizes"].items() if size.get("to_target")}
    if adaptive:
        target = c.get("se_target", 0.01)
        out += ["", f"Sampling to a target (`target_std_error={target}`): permutations drawn in "
                f"doubling rounds from {FIRST_ROUND}, per recipe, until every standard error "
                f"is below {target:.0%} of |f(recipe) - f(nothing)| (at most "
                f"{c.get('se_target_cap')}).", "",
                "| ingredients | permutations per recipe | median s per recipe | slowest s | "
                "largest SE / sum | max abs error |", "|---|---|---|---|---|---|"]
        for n, a in adaptive.items():
            out.append(f"| {n} | {', '.join(map(str, a['permutations']))} | "
                       f"{_num(a['median_s'])} | {_num(a['max_s'])} | "
                       f"{_pct(a['max_se_ratio'])} | {_num(a['max_abs_error'])} |")
    out += ["", "Equal wall time: KernelExplainer against the largest budget (in permutations' "
            "worth of model evaluations, n_permutations x (n - 1) coalitions) that takes no "
            "longer per recipe, spent by this project's default sampler; the other sampler "
            "with the same budget beside it.", "",
            "| ingredients | KernelExplainer s | its max abs error | budget (permutations) | s | "
            "max abs error | sampled lower? | other sampler, same budget: s, max abs error |",
            "|---|---|---|---|---|---|---|---|"]
    enumerated = []
    for n, size in s["sizes"].items():
        e = size["equal_time"]
        if e is None:
            continue
        b = e["sampled"] or {}
        if e["kernel_max_abs_error"] <= 1e-6:
            enumerated.append(n)
        o = e.get("other_sampler") or {}
        other = (f"{o['sampler']}: {_num(o.get('median_s'))} s, {_num(o.get('max_abs_error'))}"
                 if o else "-")
        out.append(f"| {n} | {_num(e['kernel_s'])} | {_num(e['kernel_max_abs_error'])} | "
                   f"{b.get('permutations', '-')} | {_num(b.get('median_s'))} | "
                   f"{_num(b.get('max_abs_error'))} | {'yes' if e['sampled_better'] else 'no'} | "
                   f"{other} |")
    if enumerated:
        out += ["", f"At {', '.join(enumerated)} ingredients KernelExplainer's default sample "
                "count (2n + 2048) covers every coalition, so it enumerates and is exact; the "
                "equal-time comparison only means something where it samples."]
    b = s["batch"]
    k = b["kernel"]
    how = (f"its per-recipe time over the first {k['n_recipes']} recipes times "
           f"{b['n_recipes']} (it builds one explainer per recipe)"
           if k["extrapolated"] else "measured on the whole batch")
    out += ["", f"Batch of {b['n_recipes']} recipes of {b['players']} ingredients: exact "
            f"values in one call (median of {len(b['exact']['runs_s'])}) against "
            f"KernelExplainer ({how}).", "",
            "| method | batch s | s per recipe | max abs error |", "|---|---|---|---|",
            f"| exact (this project) | {_num(b['exact']['median_s'])} | "
            f"{_num(b['exact']['per_recipe_s'])} | 0 |",
            f"| shap KernelExplainer | {_num(k['batch_s'])} | {_num(k['per_recipe_s'])} | "
            f"{_num(k['max_abs_error'])} |",
            "", f"Exact is {b['speedup']:.1f}x faster on the batch."]
    return "\n".join(out)


_METHOD_NAMES = {
    "exact": "exact (this project, every-subset pass)",
    "exact_plain_forward": "exact, plain padded forward",
    "shap_kernel": "shap KernelExplainer",
    "shap_permutation": "shap PermutationExplainer",
    "shap_exact": "shap ExactExplainer",
}
