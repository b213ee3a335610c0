"""How well attributions recover the true effects of a synthetic dataset (``truth.json``).

The reference is the Shapley value of the noise-free oracle under the same absence definition:
the oracle works on any sub-recipe, so every coalition of a small recipe is evaluated exactly and
transformed to the model's standardised units with the model's own target scaler. A model that
learned the true mechanism attributes like the oracle; the score per property is the mean
per-case Spearman correlation (with Kendall, sign agreement and whether the top ingredient is the
same). Two further checks: the per-ingredient mean attribution per wt% against the truth's
linearised ``main_effects``, and whether the known interactions (families that act together)
appear among each case's top interaction pairs, against the rate expected by chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np

from models.synth_properties import channel_weights, predict_loads
from models.trained import TrainedModel
from xai.absence import REMOVED, Absence, as_absence, players
from xai.attribution.coalitions import subset_members
from xai.attribution.interactions import Interactions
from xai.attribution.results import Attribution, empty_values
from xai.attribution.shapley import exact_shapley
from xai.cases import Cases
from xai.checks.quality import kendall_rows, spearman_rows, top_k_overlap
from xai.stats import finite_mean

POOL_ROWS = 1 << 16  # coalitions evaluated per oracle call
EFFECT_FLOOR = 1e-9  # |oracle Shapley value| below this: the ingredient has no effect


def oracle_shapley(
    model: TrainedModel,
    cases: Cases,
    truth: dict,
    *,
    absence: Absence | str = REMOVED,
    max_players: int = 12,
) -> Attribution:
    """Exact Shapley values of the noise-free oracle, in the model's standardised units.

    Cases with more than ``max_players`` players, with a property the truth does not know, or
    whose sub-recipes leave the transform's domain (a log of a value <= 0) stay NaN;
    ``enumerated`` (N,) marks the others. ``zero`` absence equals ``removed`` for
    the oracle (an ingredient at 0 wt% is not there).
    """
    absence = as_absence(absence)
    n_cases, width = cases.ids.shape
    codes = sorted(truth["families"])
    index = {c: j for j, c in enumerate(codes)}
    channels, weights = channel_weights(truth, codes)  # (codes, channels)
    weights = np.vstack([weights, np.zeros((1, len(channels)))])  # last row: unknown code
    who = players(cases.mask, cases.balance_slot, absence).numpy()
    values = empty_values(cases)
    prediction, baseline = np.full(n_cases, np.nan), np.full(n_cases, np.nan)
    enumerated = np.zeros(n_cases, dtype=bool)
    for prop in sorted(set(cases.properties) & set(truth["properties"])):
        rows = [i for i, p in enumerate(cases.properties)
                if p == prop and 0 < who[i].sum() <= max_players]
        for pool in _pools(rows, who):
            blocks = [_coalition_loads(cases, i, who[i], absence, weights, index) for i in pool]
            loads = np.concatenate(blocks)
            raw = predict_loads(truth, {ch: loads[:, k] for k, ch in enumerate(channels)}, prop)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = model.encoder.to_standard([prop] * len(raw), raw)
            start = 0
            for i, block in zip(pool, blocks, strict=True):
                v, start = z[start:start + len(block)], start + len(block)
                if not np.all(np.isfinite(v)):
                    continue
                slots = np.flatnonzero(who[i])
                values[i, slots] = exact_shapley(v, len(slots))
                baseline[i], prediction[i] = v[0], v[-1]
                enumerated[i] = True
    return Attribution(
        method="oracle_shapley", absence=absence, formulation_ids=cases.formulation_ids,
        properties=cases.properties, ingredients=cases.ingredients, raw_amounts=cases.raw_amounts,
        values=values, prediction=prediction, baseline=baseline, std_errors=None,
        settings={"units": "standardised model units", "max_players": max_players},
        enumerated=enumerated,
    )


@dataclass(frozen=True)
class TruthScores:
    """Ground-truth scores of one or more attribution sets.

    ``attribution[method]`` holds ``overall`` and ``per_property`` summaries of the agreement
    with the oracle's Shapley values (sign agreement counts only ingredients the oracle gives a
    non-zero value); ``main_effects[method][property]`` the Spearman correlation
    over ingredients between mean attribution per wt% and the truth's main effect;
    ``interactions`` one entry per known interaction with its hit rate among the top pairs.
    """

    absence: Absence
    attribution: dict[str, dict]
    main_effects: dict[str, dict]
    interactions: list[dict]
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "absence": str(self.absence),
            "attribution": self.attribution,
            "main_effects": self.main_effects,
            "interactions": self.interactions,
            "settings": dict(self.settings),
        }


def truth_scores(
    model: TrainedModel,
    cases: Cases,
    truth: dict,
    attributions: Sequence[Attribution],
    *,
    interactions: Interactions | None = None,
    max_players: int = 12,
    top_k: int = 3,
    min_count: int = 3,
    oracle: Attribution | None = None,
) -> TruthScores:
    """Score ``attributions`` (all for ``cases``, one absence) against the truth.

    ``oracle`` may pass precomputed :func:`oracle_shapley` values; ``interactions`` (for the same
    cases) enables the interaction check; ``min_count`` is the fewest cases an ingredient needs
    to enter the main-effect correlation.
    """
    if not attributions:
        raise ValueError("no attributions to score")
    absence = attributions[0].absence
    if any(a.absence != absence for a in attributions):
        raise ValueError("attributions to score together must share one absence definition")
    for a in attributions:
        if (a.formulation_ids, a.properties) != (cases.formulation_ids, cases.properties):
            raise ValueError(f"attribution {a.method!r} does not explain these cases")
    if oracle is None:
        oracle = oracle_shapley(model, cases, truth, absence=absence, max_players=max_players)
    scored = {a.method: _oracle_agreement(a, oracle) for a in attributions}
    effects = {a.method: _main_effect_scores(a, truth, min_count) for a in attributions}
    hits = interaction_hits(interactions, truth, top_k=top_k) if interactions is not None else []
    return TruthScores(
        absence=absence,
        attribution=scored,
        main_effects=effects,
        interactions=hits,
        settings={
            "reference": "exact Shapley values of the noise-free oracle, same absence, "
                         "standardised model units",
            "max_players": max_players,
            "n_cases": len(cases),
            "n_enumerated": int(oracle.enumerated.sum()),
            "top_k": top_k,
            "min_count": min_count,
            "main_effects": "truth main effects are removal effects per wt% (log scale for "
                            "log properties); compared with mean attribution / amount",
        },
    )


def interaction_hits(interactions: Interactions, truth: dict, *, top_k: int = 3) -> list[dict]:
    """For each known interaction, how often a pair of its families is among a case's ``top_k``
    interaction pairs, over the cases of its property that hold such a pair.

    ``chance_rate`` is the hit rate that ``top_k`` pairs drawn at random from the case's player
    pairs would reach; ``family_pair_rank`` ranks the interaction's best family pair among all
    family pairs of the property by mean |pair interaction| (1 = strongest).
    """
    family = truth["families"]
    out = []
    strength = _family_pair_strength(interactions, family)
    for known in truth.get("interactions", []):
        prop, fams = known["property"], set(known["families"])
        n, hits, chance = 0, 0, 0.0
        for i in np.flatnonzero(np.asarray(interactions.properties, dtype=object) == prop):
            pairs = _player_pairs(interactions, i)
            if not pairs:
                continue
            matching = [_matches(family, a, b, fams) for a, b in pairs]
            m, p = sum(matching), len(pairs)
            if m == 0:
                continue
            k = min(top_k, p)
            n += 1
            hits += any(_matches(family, a, b, fams) for a, b, _ in interactions.top_pairs(i, k))
            chance += 1.0 - comb(p - m, k) / comb(p, k)
        ranking = strength.get(prop, [])
        ranks = [r for r, (pair, _) in enumerate(ranking, 1)
                 if len(set(pair)) == 2 and set(pair) <= fams]
        out.append({
            "property": prop,
            "families": list(known["families"]),
            "description": known.get("description", ""),
            "n_cases": n,
            "hit_rate": hits / n if n else float("nan"),
            "chance_rate": chance / n if n else float("nan"),
            "recovered": bool(n and hits / n > chance / n),
            "family_pair_rank": ranks[0] if ranks else None,
            "n_family_pairs": len(ranking),
        })
    return out


def _pools(rows: list[int], who: np.ndarray) -> list[list[int]]:
    """Group cases so that each oracle call evaluates about ``POOL_ROWS`` coalitions."""
    pools, current, size = [], [], 0
    for i in rows:
        current.append(i)
        size += 2 ** int(who[i].sum())
        if size >= POOL_ROWS:
            pools.append(current)
            current, size = [], 0
    return pools + ([current] if current else [])


def _coalition_loads(cases: Cases, i: int, who: np.ndarray, absence: Absence, weights: np.ndarray,
                     index: dict[str, int]) -> np.ndarray:
    """(2^n, channels) channel loads of every sub-recipe of case i (bit j = player j)."""
    names = cases.ingredients[i]
    amounts = np.asarray(cases.raw_amounts[i], dtype=np.float64)
    w = weights[[index.get(name, len(weights) - 1) for name in names]]  # (size, channels)
    is_player = who[: len(names)]
    member = subset_members(int(is_player.sum())).astype(np.float64)  # (2^n, n)
    player_loads = amounts[is_player, None] * w[is_player]  # (n, channels)
    loads = member @ player_loads + (amounts[~is_player, None] * w[~is_player]).sum(0)
    balance = int(cases.balance_slot[i])
    if absence.kind == "balance" and balance >= 0:
        moved = (1.0 - member) @ amounts[is_player]  # (2^n,) amount given to the balance
        loads = loads + moved[:, None] * w[balance]
    return loads


def _oracle_agreement(attribution: Attribution, oracle: Attribution) -> dict:
    width = min(attribution.values.shape[1], oracle.values.shape[1])
    x, y = attribution.values[:, :width], oracle.values[:, :width]
    valid = np.isfinite(x) & np.isfinite(y)
    valid &= oracle.enumerated[:, None]
    rho, tau = spearman_rows(x, y, valid), kendall_rows(x, y, valid)
    top1 = top_k_overlap(x, y, valid, 1)
    # sign agreement only where the oracle says the ingredient does something
    acts = valid & (np.abs(np.nan_to_num(y)) > EFFECT_FLOOR)
    n = acts.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sign = np.where(n > 0, ((np.sign(x) == np.sign(y)) & acts).sum(1) / n, np.nan)
    props = np.asarray(attribution.properties, dtype=object)

    def summary(rows) -> dict:
        ok = np.isfinite(rho[rows])
        return {
            "n_cases": int(ok.sum()),
            "spearman_mean": finite_mean(rho[rows]),
            "kendall_mean": finite_mean(tau[rows]),
            "sign_agreement": finite_mean(sign[rows]),
            "top1_match": finite_mean(np.where(np.isfinite(rho), top1, np.nan)[rows]),
        }

    return {
        "overall": summary(slice(None)),
        "per_property": {p: summary(props == p) for p in sorted(set(attribution.properties))},
    }


def _main_effect_scores(attribution: Attribution, truth: dict, min_count: int) -> dict:
    effects = truth.get("main_effects", {})
    out = {}
    props = np.asarray(attribution.properties, dtype=object)
    for prop in sorted(set(attribution.properties) & set(effects)):
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for i in np.flatnonzero(props == prop):
            names = attribution.ingredients[i]
            per_wt = attribution.values[i, : len(names)] / np.asarray(attribution.raw_amounts[i])
            for name, value in zip(names, per_wt, strict=True):
                if np.isfinite(value):
                    sums[name] = sums.get(name, 0.0) + float(value)
                    counts[name] = counts.get(name, 0) + 1
        names = sorted(n for n in sums if counts[n] >= min_count and n in effects[prop])
        if len(names) < 3:
            out[prop] = {"spearman": float("nan"), "n_ingredients": len(names)}
            continue
        model_effect = np.array([sums[n] / counts[n] for n in names])
        true_effect = np.array([effects[prop][n] for n in names])
        rho = spearman_rows(model_effect[None], true_effect[None])[0]
        out[prop] = {"spearman": float(rho), "n_ingredients": len(names)}
    return out


def _player_pairs(interactions: Interactions, i: int) -> list[tuple[str, str]]:
    names = interactions.ingredients[i]
    diag = np.diagonal(interactions.values[i])[: len(names)]
    present = [names[j] for j in np.flatnonzero(np.isfinite(diag))]
    return list(combinations(present, 2))


def _matches(family: dict[str, str], a: str, b: str, fams: set[str]) -> bool:
    fa, fb = family.get(a), family.get(b)
    return fa != fb and fa in fams and fb in fams


def _family_pair_strength(interactions: Interactions, family: dict[str, str]) -> dict:
    """property -> [(family pair, mean |pair interaction|)], strongest first."""
    totals: dict[str, dict[tuple[str, str], list[float]]] = {}
    for i, prop in enumerate(interactions.properties):
        names = interactions.ingredients[i]
        block = interactions.values[i, : len(names), : len(names)]
        a, b = np.triu_indices(len(names), k=1)
        pair = block[a, b] + block[b, a]  # the whole interaction of the pair
        for j in np.flatnonzero(np.isfinite(pair)):
            key = tuple(sorted((family.get(names[a[j]], "?"), family.get(names[b[j]], "?"))))
            slot = totals.setdefault(prop, {}).setdefault(key, [0.0, 0])
            slot[0] += abs(float(pair[j]))
            slot[1] += 1
    return {
        prop: sorted(((k, s / c) for k, (s, c) in pairs.items()), key=lambda kv: -kv[1])
        for prop, pairs in totals.items()
    }


