"""What ``truth.json`` says each built-in hypothesis should find.

A synthetic dataset knows why its data look the way they do: which ingredients share a family's
effects, which properties share a formula, which expert swaps stay inside a family, how viscosity
falls with rpm. From that alone (never from the model) each built-in hypothesis gets an expected
verdict with the reason, so a run on synthetic data can say where its verdicts agree with the
truth and where they do not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from xai.hypotheses.registry import NOT_SUPPORTED, SUPPORTED, Verdict


@dataclass(frozen=True)
class Expectation:
    expected: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def expected_verdicts(truth: dict, slope_band: tuple[float, float]) -> dict[str, Expectation]:
    """Expected verdict per built-in hypothesis name; hypotheses the truth is silent on are left
    out. ``slope_band`` is the band the shear-thinning hypothesis tests the slope against."""
    out: dict[str, Expectation] = {}
    families = Counter(truth.get("families", {}).values())
    if len(families) >= 2 and max(families.values()) >= 2:
        out["same_group_ingredients_closer"] = Expectation(
            SUPPORTED, "the ingredients of a family share its channel effects, each with its own"
                       " lognormal deviation")
    groups = truth.get("property_groups", {})
    properties = truth.get("properties", {})
    shared = _shared_formula_groups(groups, properties)
    if shared:
        out["same_group_properties_closer"] = Expectation(
            SUPPORTED, f"the properties of group(s) {', '.join(sorted(shared))} share one formula")
        out["property_vector_helps_low_data"] = Expectation(
            SUPPORTED, "a low-data property of a group shares its formula with its high-data"
                       " group-mates, up to a constant factor or an rpm term")
    swaps = [s.get("kind") for s in truth.get("substitutions", [])]
    if swaps:
        within = swaps.count("within_family")
        expected = SUPPORTED if within > len(swaps) / 2 else NOT_SUPPORTED
        out["expert_swaps_preserve_predictions"] = Expectation(
            expected, f"{within} of {len(swaps)} expert swaps stay inside one family")
    if properties:
        out["property_token_reads_recipe"] = Expectation(
            SUPPORTED, "every property is a function of the recipe's channel loads")
    slopes = _rpm_slopes(truth)
    if slopes:
        out["trend_monotonic"] = Expectation(
            SUPPORTED if all(s < 0 for s in slopes.values()) else NOT_SUPPORTED,
            "log viscosity slopes per rpm doubling's log: "
            + ", ".join(f"{k} {v:g}" for k, v in sorted(slopes.items())))
        low, high = slope_band
        inside = all(low <= s <= high for s in slopes.values())
        out["shear_thinning_slope"] = Expectation(
            SUPPORTED if inside else NOT_SUPPORTED,
            f"true log-log slopes {', '.join(f'{v:g}' for v in sorted(slopes.values()))}"
            f" {'inside' if inside else 'outside'} the band [{low:g}, {high:g}]")
    return out


def compare(verdicts: Sequence[Verdict], expectations: dict[str, Expectation]) -> dict[str, dict]:
    """Per hypothesis with an expectation: expected and found verdicts, whether they agree."""
    return {
        v.name: {**expectations[v.name].to_dict(), "found": v.verdict,
                 "agrees": v.verdict == expectations[v.name].expected}
        for v in verdicts if v.name in expectations
    }


def _shared_formula_groups(groups: dict[str, str], properties: dict[str, dict]) -> set[str]:
    kinds: dict[str, set[str]] = {}
    sizes = Counter(groups.values())
    for prop, group in groups.items():
        kinds.setdefault(group, set()).add(properties.get(prop, {}).get("kind", prop))
    return {g for g, k in kinds.items() if sizes[g] >= 2 and len(k) == 1}


def _rpm_slopes(truth: dict) -> dict[str, float]:
    spindles = truth.get("parameters", {}).get("viscosity", {}).get("spindles", {})
    used = {p.get("spindle") for p in truth.get("properties", {}).values() if p.get("rpm")}
    return {name: float(s["slope"]) for name, s in spindles.items()
            if name in used and "slope" in s}
