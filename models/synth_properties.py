"""Ground-truth property functions of the synthetic formulation generator.

Every property is computed from a few *loads*: for each channel (a mechanism such as carbomer
thickening or emulsifying power), the sum over a recipe's ingredients of amount x the ingredient's
weight on that channel. Properties are smooth nonlinear functions of those loads with the
interactions a chemist expects. Everything is read from the ``truth`` dictionary, so the parsed
``truth.json`` alone reproduces the noise-free values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Loads = dict[str, np.ndarray]

PARAMETERS: dict[str, dict] = {
    "neutralisation": {"rate": 2.5, "carbomer_offset": 0.02, "sharpness": 10.0},
    "viscosity": {
        "log_base": 3.4, "curvature": 2.6, "carbomer": 20.0, "electrolyte": 1.0,
        "polymer": 6.0, "wax": 1.0, "oil": 0.12, "wax_oil": 0.03, "humectant": 0.02,
        "reference_rpm": 10.0,
        "spindles": {"4pin": {"log_factor": 0.0, "slope": -0.95},
                     "6pin": {"log_factor": -0.6, "slope": -0.9}},
    },
    "ph": {"neutral": 6.25, "half_range": 2.75, "sensitivity": 1.6},
    "stability": {"optimum_ratio": 0.25, "emulsifier_offset": 0.1, "oil_offset": 0.1,
                  "wax_oil_share": 0.5,
                  "thickener_rescue": 0.7, "thickener_scale": 4.0},
    "hardness": {"base": 8.0, "wax_gain": 150.0, "wax_rate": 0.3, "oil_softening": 0.05,
                 "gel_gain": 10.0},
    "spreadability": {"base": 20.0, "flow_gain": 45.0, "flow_midpoint": 7.0, "flow_width": 1.0,
                      "oil_gain": 12.0, "oil_scale": 8.0},
    "moisturisation": {"base": 5.0, "humectant_gain": 35.0, "humectant_scale": 6.0,
                       "active_gain": 20.0, "active_scale": 2.0, "occlusive_gain": 10.0,
                       "occlusive_scale": 12.0, "synergy": 20.0},
    "opacity": {"oil_rate": 0.09, "coarse_share": 0.4, "emulsifier_scale": 2.0},
}

FORMULAS: dict[str, str] = {
    "viscosity": (
        "ln(viscosity) = log_base + curvature * ln(1 + S) + log_factor[spindle]"
        " + slope[spindle] * ln(rpm / reference_rpm), with structure"
        " S = carbomer * nu * C / (1 + electrolyte * El) + polymer * P + wax * W + oil * O"
        " + wax_oil * W * O + humectant * H; C carbomer_thickening, P polymer_thickening,"
        " W wax_structure, O oil_phase, H humectancy, El active_electrolyte loads, and the"
        " neutralisation degree nu = 1 - exp(-rate * F / (Ca + carbomer_offset)), where the"
        " base left over after the acids,"
        " F = max(ln(1 + exp(sharpness * (B - A))) - ln 2, 0) / sharpness, has B the"
        " neutralising load, A the acidifying + preservative_acidity + active_acidity"
        " loads and Ca the carbomer_acidity load."
    ),
    "ph": (
        "pH = neutral + half_range * tanh(sensitivity * (B - A)), B neutralising load,"
        " A = acidifying + preservative_acidity + active_acidity + carbomer_acidity loads."
    ),
    "stability": (
        "r = (E + emulsifier_offset) / (O + wax_oil_share * W + oil_offset),"
        " phys = 1 - exp(-(r / optimum_ratio)^2), so a recipe without oil phase is stable;"
        " thickened water phase T = 1 - exp(-(carbomer * nu * C + polymer * P) / thickener_scale);"
        " stability = 100 * (phys + (1 - phys) * thickener_rescue * T). E emulsifying load."
    ),
    "hardness": (
        "hardness = base + wax_gain * (1 - exp(-wax_rate * W)) / (1 + oil_softening * O)"
        " + gel_gain * T, grams on a texture analyser."
    ),
    "spreadability": (
        "spreadability = base + flow_gain * sigmoid(-(ln(viscosity_ref) - flow_midpoint)"
        " / flow_width) + oil_gain * (1 - exp(-Sp / oil_scale)), mm spread diameter;"
        " Sp oil_spread load, viscosity_ref the 4-pin viscosity at the reference rpm."
    ),
    "moisturisation": (
        "h = 1 - exp(-H / humectant_scale), a = 1 - exp(-M / active_scale),"
        " o = 1 - exp(-(O + 2 W) / occlusive_scale); moisturisation = base + humectant_gain * h"
        " + active_gain * a + occlusive_gain * o + synergy * h * o (corneometer units);"
        " M active_moisturising load."
    ),
    "opacity": (
        "opacity = 100 * (1 - exp(-oil_rate * (O + wax_oil_share * W)"
        " * (coarse_share + (1 - coarse_share) * (1 - exp(-E / emulsifier_scale)))))"
        " in %; more emulsifier gives finer, more scattering droplets."
    ),
}


def oracle_predict(
    truth: dict,
    ingredients: Sequence[Sequence[str]],
    amounts: Sequence[Sequence[float]] | list[np.ndarray],
    property: str,
) -> np.ndarray:
    """Noise-free value of ``property`` for each recipe, in the property's original units.

    Parameters
    ----------
    truth : the parsed ``truth.json`` (or ``SynthData.truth``); nothing else is read.
    ingredients : one list of ingredient codes per recipe; unknown codes are ignored and a
        repeated code has its amounts summed.
    amounts : the matching amounts in wt%; recipes need not sum to 100 and may be empty.
    property : a property name listed in ``truth["properties"]``.

    Returns
    -------
    Array of one value per recipe.
    """
    if property not in truth["properties"]:
        raise KeyError(f"unknown property {property!r}; known: {sorted(truth['properties'])}")
    if len(ingredients) != len(amounts):
        raise ValueError(
            f"{len(ingredients)} ingredient lists but {len(amounts)} amount lists"
        )
    codes = sorted(truth["families"])
    x = amount_matrix(codes, ingredients, amounts)
    return predict_dense(truth, codes, x, property)


def amount_matrix(
    codes: Sequence[str],
    ingredients: Sequence[Sequence[str]],
    amounts: Sequence[Sequence[float]] | list[np.ndarray],
) -> np.ndarray:
    """Dense (recipes, codes) matrix of amounts; unknown codes dropped, repeats summed."""
    index = {c: j for j, c in enumerate(codes)}
    x = np.zeros((len(ingredients), len(codes)))
    for i, (names, values) in enumerate(zip(ingredients, amounts, strict=True)):
        values = np.asarray(values, dtype=float).reshape(-1)
        if len(names) != len(values):
            raise ValueError(f"recipe {i}: {len(names)} ingredients but {len(values)} amounts")
        for name, value in zip(names, values, strict=True):
            j = index.get(name)
            if j is not None:
                x[i, j] += value
    return x


def predict_dense(truth: dict, codes: Sequence[str], x: np.ndarray, property: str) -> np.ndarray:
    """Core of :func:`oracle_predict` on a dense (recipes, codes) amount matrix."""
    return predict_loads(truth, channel_loads(truth, codes, x), property)


def channel_weights(truth: dict, codes: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Channel names and the (codes, channels) matrix of each code's weight on each channel."""
    channels = list(truth["channels"])
    w = np.array([
        [truth["channels"][ch]["strengths"].get(c, 0.0) * truth["channels"][ch]["family_effect"]
         for ch in channels]
        for c in codes
    ]).reshape(len(codes), len(channels))
    return channels, w


def channel_loads(truth: dict, codes: Sequence[str], x: np.ndarray) -> Loads:
    """Each channel's load per recipe: amounts (recipes, codes) times the channel weights."""
    channels, w = channel_weights(truth, codes)
    loads = x @ w  # (recipes, channels)
    return {ch: loads[:, k] for k, ch in enumerate(channels)}


def predict_loads(truth: dict, loads: Loads, property: str) -> np.ndarray:
    """Noise-free ``property`` from precomputed channel loads."""
    info = truth["properties"][property]
    return _KINDS[info["kind"]](loads, truth["parameters"], info)


def _acidity(loads: Loads) -> np.ndarray:
    return (loads["acidifying"] + loads["preservative_acidity"] + loads["active_acidity"]
            + loads["carbomer_acidity"])


def _neutralisation(loads: Loads, params: dict) -> np.ndarray:
    """Degree (0-1) to which the carbomer is neutralised by base left over after the acids."""
    p = params["neutralisation"]
    excess = loads["neutralising"] - _acidity(loads) + loads["carbomer_acidity"]
    # Smoothed max(excess, 0), shifted so that no excess base means no neutralisation at all.
    beta = p["sharpness"]
    free_base = np.maximum(np.logaddexp(0.0, beta * excess) - np.log(2.0), 0.0) / beta
    return 1.0 - np.exp(-p["rate"] * free_base / (loads["carbomer_acidity"] + p["carbomer_offset"]))


def _gel_structure(loads: Loads, params: dict) -> np.ndarray:
    p = params["viscosity"]
    nu = _neutralisation(loads, params)
    carbomer = p["carbomer"] * nu * loads["carbomer_thickening"]
    carbomer = carbomer / (1.0 + p["electrolyte"] * loads["active_electrolyte"])
    return carbomer + p["polymer"] * loads["polymer_thickening"]


def _log_viscosity_ref(loads: Loads, params: dict) -> np.ndarray:
    p = params["viscosity"]
    wax, oil = loads["wax_structure"], loads["oil_phase"]
    structure = (_gel_structure(loads, params) + p["wax"] * wax + p["oil"] * oil
                 + p["wax_oil"] * wax * oil + p["humectant"] * loads["humectancy"])
    return p["log_base"] + p["curvature"] * np.log1p(structure)


def _thickened(loads: Loads, params: dict) -> np.ndarray:
    return 1.0 - np.exp(-_gel_structure(loads, params) / params["stability"]["thickener_scale"])


def _viscosity(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["viscosity"]
    spindle = p["spindles"][info["spindle"]]
    shear = spindle["slope"] * np.log(info["rpm"] / p["reference_rpm"])
    return np.exp(_log_viscosity_ref(loads, params) + spindle["log_factor"] + shear)


def _ph(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["ph"]
    net = loads["neutralising"] - _acidity(loads)
    return p["neutral"] + p["half_range"] * np.tanh(p["sensitivity"] * net)


def _stability(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["stability"]
    oil = loads["oil_phase"] + p["wax_oil_share"] * loads["wax_structure"]
    ratio = (loads["emulsifying"] + p["emulsifier_offset"]) / (oil + p["oil_offset"])
    phys = 1.0 - np.exp(-((ratio / p["optimum_ratio"]) ** 2))
    return 100.0 * (phys + (1.0 - phys) * p["thickener_rescue"] * _thickened(loads, params))


def _hardness(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["hardness"]
    wax = 1.0 - np.exp(-p["wax_rate"] * loads["wax_structure"])
    softening = 1.0 + p["oil_softening"] * loads["oil_phase"]
    return p["base"] + p["wax_gain"] * wax / softening + p["gel_gain"] * _thickened(loads, params)


def _spreadability(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["spreadability"]
    z = (_log_viscosity_ref(loads, params) - p["flow_midpoint"]) / p["flow_width"]
    flow = 1.0 / (1.0 + np.exp(z))
    oil = 1.0 - np.exp(-loads["oil_spread"] / p["oil_scale"])
    return p["base"] + p["flow_gain"] * flow + p["oil_gain"] * oil


def _moisturisation(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["moisturisation"]
    h = 1.0 - np.exp(-loads["humectancy"] / p["humectant_scale"])
    a = 1.0 - np.exp(-loads["active_moisturising"] / p["active_scale"])
    occlusive = loads["oil_phase"] + 2.0 * loads["wax_structure"]
    o = 1.0 - np.exp(-occlusive / p["occlusive_scale"])
    return (p["base"] + p["humectant_gain"] * h + p["active_gain"] * a
            + p["occlusive_gain"] * o + p["synergy"] * h * o)


def _opacity(loads: Loads, params: dict, info: dict) -> np.ndarray:
    p = params["opacity"]
    oil = loads["oil_phase"] + params["stability"]["wax_oil_share"] * loads["wax_structure"]
    fine = 1.0 - np.exp(-loads["emulsifying"] / p["emulsifier_scale"])
    scatter = p["oil_rate"] * oil * (p["coarse_share"] + (1.0 - p["coarse_share"]) * fine)
    return 100.0 * (1.0 - np.exp(-scatter))


_KINDS: dict[str, Callable[[Loads, dict, dict], np.ndarray]] = {
    "viscosity": _viscosity,
    "ph": _ph,
    "stability": _stability,
    "hardness": _hardness,
    "spreadability": _spreadability,
    "moisturisation": _moisturisation,
    "opacity": _opacity,
}
