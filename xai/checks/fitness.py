"""Is the model fit for use, property by property? Explicit rules over an audit's results.

:func:`fitness_verdicts` reads the ``accuracy``, ``attributions``, ``attention`` and
``provenance`` entries of a results dict (what :func:`xai.runs.audit.run_audit` builds) and
returns the ``verdicts`` entry: per property one of ``fit for use``, ``use with care`` or
``not fit``, with the rule that decided it in one line, and the three most important caveats of
the whole audit. The rules, applied to the test split:

- ``not fit`` when the test R^2 is below ``R2_NOT_FIT`` (the mean predictor would do about as
  well), or when the best bag-of-amounts baseline has a lower test RMSE by more than
  ``BASELINE_MARGIN`` (use the baseline instead);
- ``use with care`` when the test R^2 is below ``R2_FIT``, or below ``ORACLE_SHARE`` of the
  oracle R^2 (synthetic data only: the noise-free ceiling), or the best baseline has a lower
  test RMSE at all, or fewer than ``MIN_TEST`` test measurements carry the verdict, or the
  prediction intervals cover less than the nominal rate minus ``COVERAGE_SLACK`` (the
  held-out coverage measured at training time, ``accuracy["conformal"]``, where the model
  has intervals), or an attribution check failed (completeness within
  tolerance on less than ``MIN_COMPLETE`` of cases, or a failed randomisation check);
- ``fit for use`` otherwise.

Log-transformed properties are judged on ``r2_log`` (R^2 of the logarithms, the scale the model
is fitted on) where present. Every rate or verdict resting on fewer than ``SMALL_SAMPLE`` cases
is called small in the reason, with its count.
"""

from __future__ import annotations

from collections.abc import Mapping

R2_NOT_FIT = 0.0
R2_FIT = 0.6
ORACLE_SHARE = 0.8
BASELINE_MARGIN = 0.10  # relative RMSE: the baseline is more than 10% better
MIN_TEST = 20  # test measurements below which a verdict is at most "use with care"
SMALL_SAMPLE = 20  # cases below which any rate or verdict in the report is flagged as small
FEW_EXPLAINED = 100  # explained cases below which the attribution summaries are a preview
COVERAGE_SLACK = 0.05
MIN_COMPLETE = 0.9

FIT, CARE, NOT_FIT = "fit for use", "use with care", "not fit"
LEVELS = (FIT, CARE, NOT_FIT)  # in order of severity

RULES = (
    f"not fit: test R\u00b2 below {R2_NOT_FIT:g}, or the best baseline's test RMSE lower by "
    f"more than {BASELINE_MARGIN:.0%}",
    f"use with care: test R\u00b2 below {R2_FIT:g}, or below {ORACLE_SHARE:.0%} of the oracle "
    f"R\u00b2, or any baseline with a lower test RMSE, or fewer than {MIN_TEST} test "
    f"measurements, or interval coverage more than {COVERAGE_SLACK:.0%} below nominal, or an "
    f"attribution check failed (completeness on less than {MIN_COMPLETE:.0%} of cases, or the "
    "randomisation check)",
    "fit for use: none of the above",
    "log-transformed properties are judged on R\u00b2 of the logarithms",
)


def fitness_verdicts(results: Mapping) -> dict:
    """The ``verdicts`` entry for an audit's ``results``.

    Returns ``{"properties": {name: {"verdict", "reason", "reasons", "n_test", "r2",
    "small_sample"}}, "caveats": [three lines], "counts": {verdict: n}, "rules": [...],
    "small_sample": SMALL_SAMPLE}``; ``available`` is False with a ``reason`` when the results
    hold no accuracy.
    """
    accuracy = results.get("accuracy") or {}
    if accuracy.get("available") is False or not accuracy.get("properties"):
        return {"available": False, "reason": "no test accuracy in these results"}
    checks = _attribution_problems(results.get("attributions") or {})
    baselines = accuracy.get("baselines") or {}
    transforms = (results.get("data") or {}).get("property_transforms") or {}
    conformal = accuracy.get("conformal") or {}
    properties = {}
    for prop in sorted(accuracy["properties"]):
        test = accuracy["properties"][prop].get("test") or {}
        covered = (conformal.get("properties") or {}).get(prop) or {}
        properties[prop] = _judge(prop, test, baselines, transforms.get(prop), checks,
                                  coverage=(covered.get("coverage"), conformal.get("nominal")))
    counts = {level: sum(p["verdict"] == level for p in properties.values()) for level in LEVELS}
    return {
        "properties": properties,
        "counts": counts,
        "caveats": _caveats(results, properties, checks)[:3],
        "rules": list(RULES),
        "small_sample": SMALL_SAMPLE,
    }


def is_small(n) -> bool:
    """Whether a rate resting on ``n`` cases is flagged as a small sample."""
    return n is not None and n < SMALL_SAMPLE


def _judge(prop: str, test: Mapping, baselines: Mapping, transform: str | None,
           checks: list[str], *, coverage: tuple = (None, None)) -> dict:
    n = test.get("n") or 0
    r2 = test.get("r2_log") if transform == "log" and test.get("r2_log") is not None \
        else test.get("r2")
    which = "R\u00b2 of the logarithms" if r2 is not None and r2 is test.get("r2_log") \
        and transform == "log" else "R\u00b2"
    found: list[tuple[str, str]] = []  # (level, reason)
    if r2 is None:
        found.append((CARE, f"no test R\u00b2 ({n} test measurements)"))
    elif r2 < R2_NOT_FIT:
        found.append((NOT_FIT, f"test {which} {r2:.2f} on {n} test measurements: worse than "
                               "predicting the training mean"))
    elif r2 < R2_FIT:
        found.append((CARE, f"test {which} {r2:.2f} is below {R2_FIT:g}"))
    oracle, plain = test.get("oracle_r2"), test.get("r2")  # the oracle's R^2 is on the
    # original scale, so it is compared with the plain test R^2
    if plain is not None and oracle is not None and oracle > 0 \
            and plain < ORACLE_SHARE * oracle and (r2 is None or r2 >= R2_NOT_FIT):
        found.append((CARE, f"test R\u00b2 {plain:.2f} reaches {max(plain, 0) / oracle:.0%} of "
                            f"the oracle's {oracle:.2f} (rule: {ORACLE_SHARE:.0%})"))
    best = (baselines.get("best") or {}).get(prop)
    b = ((baselines.get("models") or {}).get(best) or {}).get(prop) or {}
    rmse, b_rmse = test.get("rmse"), b.get("rmse")
    if rmse is not None and b_rmse is not None and b_rmse < rmse:
        name = best.replace("_", " ")
        if b_rmse < (1 - BASELINE_MARGIN) * rmse:
            found.append((NOT_FIT, f"{name} has a test RMSE {1 - b_rmse / rmse:.0%} lower than "
                                   "the Mixer's: use the baseline"))
        else:
            found.append((CARE, f"{name} has a slightly lower test RMSE than the Mixer"))
    if n < MIN_TEST:
        found.append((CARE, f"small sample: only {n} test measurement{'s' * (n != 1)} "
                            f"(rule: {MIN_TEST})"))
    coverage, nominal = coverage
    if coverage is not None and nominal is not None and coverage < nominal - COVERAGE_SLACK:
        found.append((CARE, f"prediction intervals cover {coverage:.0%} of test values "
                            f"(nominal {nominal:.0%})"))
    found.extend((CARE, c) for c in checks)
    if not found:
        reason = f"test {which} {r2:.2f} on {n} test measurements"
        if oracle is not None:
            reason += f" (oracle R\u00b2 {oracle:.2f} in original units, Mixer {plain:.2f})" \
                if which != "R\u00b2" and plain is not None else f" (oracle {oracle:.2f})"
        if b_rmse is not None:
            reason += "; beats every baseline"
        found.append((FIT, reason))
    found.sort(key=lambda f: -LEVELS.index(f[0]))
    return {"verdict": found[0][0], "reason": found[0][1],
            "reasons": [r for _, r in found], "n_test": n, "r2": r2,
            "small_sample": is_small(n)}


def _attribution_problems(a: Mapping) -> list[str]:
    """One line per failed attribution check (they weigh on every property)."""
    if not a or a.get("available") is False:
        return []
    quality = a.get("quality") or {}
    out = []
    for method, c in (quality.get("completeness") or {}).items():
        share = c.get("share_within_tolerance")
        if share is not None and share < MIN_COMPLETE:
            out.append(f"{_method(method)} attributions complete on only {share:.0%} of cases")
    for method, c in (quality.get("sanity_check") or {}).items():
        if c.get("passed") is False:
            out.append(f"{_method(method)} failed the randomisation check: its attributions "
                       "barely depend on the model's weights")
    return out


def _caveats(results: Mapping, properties: Mapping, checks: list[str]) -> list[str]:
    """Caveats of the whole audit, most important first."""
    out = []
    not_fit = [p for p, v in properties.items() if v["verdict"] == NOT_FIT]
    if not_fit:
        out.append(f"Not fit for use on {len(not_fit)} of {len(properties)} properties: "
                   + ", ".join(not_fit) + ".")
    same = ((results.get("provenance") or {}).get("data") or {}).get("same_as_training")
    if same is False:
        out.append("The data differ from those the model was trained on: the test split may "
                   "hold training recipes.")
    out.extend(c[:1].upper() + c[1:] + "." for c in checks)
    attention = ((results.get("attention") or {}).get("summary") or {})
    if attention.get("flagged"):
        out.append("The property token barely attends to the ingredients: the model may be "
                   "ignoring the recipe.")
    small = [p for p, v in properties.items() if v["small_sample"]]
    if small:
        out.append(f"{len(small)} properties have fewer than {SMALL_SAMPLE} test measurements "
                   f"({', '.join(small[:4])}{', ...' if len(small) > 4 else ''}): their "
                   "verdicts rest on a small sample.")
    if (results.get("options") or {}).get("baselines") is False:
        out.append("No baselines were fitted (quick preview): the Mixer is not compared with "
                   "a simple model.")
    a = results.get("attributions") or {}
    overall = ((a.get("quality") or {}).get("agreement") or {}).get("overall") or {}
    rho = overall.get("spearman_mean")
    if rho is not None and rho < 0.5:
        out.append(f"Integrated Gradients and Shapley values rank ingredients differently "
                   f"(mean Spearman {rho:.2f}): read single attributions with care.")
    if results.get("problems"):
        out.append(f"{len(results['problems'])} analyses could not run (listed below).")
    sampled = a.get("sampled") or {}
    if sampled.get("n_cases") is not None and sampled["n_cases"] < FEW_EXPLAINED:
        out.append(f"Attributions were explained on only {sampled['n_cases']} cases: global "
                   "importances and agreement rates are a preview.")
    if not out:
        out.append("No caveat raised by the rules.")
    return out


def _method(key: str) -> str:
    return {"ig": "Integrated Gradients", "shapley": "Shapley"}.get(key, key)
