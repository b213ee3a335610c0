"""Deletion curves: remove a recipe's players in attribution order and watch the prediction.

If the attributions are faithful, removing the most positively attributed ingredients first drops
the prediction faster than removing them in a random order, and removing them by |attribution|
closes the gap to the fully removed recipe faster. Both are summarised as an area under the curve
(x: share of players removed, 0 to 1; y in standardised model units), lower is better, against
the mean of several seeded random orders. Ingredients are removed with the attribution's own
absence definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from models.mixer import Mixer
from models.modes import evaluation
from xai.absence import Absence, apply_absence, players
from xai.attribution.results import Attribution
from xai.cases import Cases, length_chunks

ORDERS = ("positive", "magnitude")


@dataclass(frozen=True)
class DeletionCurves:
    """Mean deletion curves on a common grid and their areas.

    ``fractions`` (G,) is the share of players removed. ``curves[order]`` (G,) is the mean over
    cases of the curve under the attribution order and ``random[order]`` (G,) under random orders:
    for ``positive`` the drop f(recipe minus first k) - f(recipe), for ``magnitude`` the remaining
    gap |f(recipe minus first k) - f(every player removed)|. ``auc[order]`` (N,) and
    ``random_auc[order]`` (N,) are per-case areas (random: mean over orders); cases with fewer
    than two players are left out (``case_rows`` lists the cases used).
    """

    method: str
    absence: Absence
    fractions: np.ndarray
    curves: dict[str, np.ndarray]
    random: dict[str, np.ndarray]
    auc: dict[str, np.ndarray]
    random_auc: dict[str, np.ndarray]
    case_rows: np.ndarray
    settings: dict = field(default_factory=dict)

    def beats_random(self, order: str) -> float:
        """Share of cases whose attribution order has a lower area than its random orders."""
        if len(self.case_rows) == 0:
            return float("nan")
        return float(np.mean(self.auc[order] < self.random_auc[order]))

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "absence": str(self.absence),
            "n_cases": len(self.case_rows),
            "fractions": self.fractions.tolist(),
            "orders": {
                order: {
                    "curve": self.curves[order].tolist(),
                    "random_curve": self.random[order].tolist(),
                    "auc_mean": _mean(self.auc[order]),
                    "random_auc_mean": _mean(self.random_auc[order]),
                    "beats_random_share": self.beats_random(order),
                }
                for order in ORDERS
            },
            "settings": dict(self.settings),
        }


def deletion_curves(
    mixer: Mixer,
    cases: Cases,
    attribution: Attribution,
    *,
    n_random: int = 5,
    seed: int = 0,
    grid: int = 11,
    batch_size: int = 8192,
) -> DeletionCurves:
    """Deletion curves of ``attribution`` (for exactly these ``cases``) against ``n_random``
    seeded random orders; every prefix of every order is one batched forward pass."""
    if attribution.formulation_ids != cases.formulation_ids or (
        attribution.properties != cases.properties
    ):
        raise ValueError("the attribution must explain exactly these cases, in order")
    rng = np.random.default_rng(seed)
    n, width = cases.ids.shape
    values = np.full((n, width), np.nan)
    values[:, : attribution.values.shape[1]] = attribution.values[:, :width]
    who = players(cases.mask, cases.balance_slot, attribution.absence).cpu().numpy()
    n_players = who.sum(1)
    keys = _order_keys(values, who, rng.random((n, n_random, width)))  # (N, O, T)
    preds = _prefix_predictions(mixer, cases, who, keys, attribution.absence, batch_size)
    used = np.flatnonzero(n_players >= 2)
    fractions = np.round(np.linspace(0.0, 1.0, grid), 12)
    curves, random_curves, auc, random_auc = {}, {}, {}, {}
    for o, order in enumerate(ORDERS):
        ys = [_curve_values(preds[i], n_players[i], order) for i in used]  # (O, n+1) each
        auc[order] = np.array([_area(y[o]) for y in ys])
        random_auc[order] = np.array([np.mean([_area(r) for r in y[len(ORDERS):]]) for y in ys])
        if not ys:
            curves[order] = random_curves[order] = np.full(grid, np.nan)
            continue
        on_grid = np.array([[np.interp(fractions, np.linspace(0, 1, y.shape[1]), row)
                             for row in y] for y in ys])  # (cases, O, G)
        curves[order] = on_grid[:, o].mean(0)
        random_curves[order] = on_grid[:, len(ORDERS):].mean((0, 1))
    return DeletionCurves(
        method=attribution.method,
        absence=attribution.absence,
        fractions=fractions,
        curves=curves,
        random=random_curves,
        auc=auc,
        random_auc=random_auc,
        case_rows=used,
        settings={"n_random": n_random, "seed": seed, "units": "standardised model units",
                  "lower_is_better": True},
    )


def _order_keys(values: np.ndarray, who: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """(N, 2 + R, T) removal position of every slot per order (players only; others T)."""
    n, width = values.shape
    scores = np.concatenate([
        np.where(who, -np.nan_to_num(values), np.inf)[:, None],
        np.where(who, -np.abs(np.nan_to_num(values)), np.inf)[:, None],
        np.where(who[:, None], noise, np.inf),
    ], axis=1)
    order = np.argsort(scores, axis=2, kind="stable")
    keys = np.empty_like(order)
    np.put_along_axis(keys, order, np.broadcast_to(np.arange(width), order.shape), 2)
    return np.where(who[:, None], keys, width)


@torch.no_grad()
def _prefix_predictions(mixer, cases, who, keys, absence, batch_size) -> np.ndarray:
    """(N, O, T+1) prediction with the first k players of each order removed (k = 0..T)."""
    n, n_orders, width = keys.shape
    out = np.full((n, n_orders, width + 1), np.nan)
    lengths = cases.mask.sum(1).cpu().numpy()
    with evaluation(mixer):
        per_chunk = max(batch_size // (n_orders * (width + 1)), 1)
        for rows in length_chunks(lengths, np.arange(n), per_chunk):
            part = cases.select(rows)
            w = part.ids.shape[1]
            k = np.arange(w + 1)
            drop = keys[rows][:, :, None, :w] < k[None, None, :, None]  # (B, O, K, w)
            keep = k[None, None, :] <= who[rows].sum(1)[:, None, None]  # skip duplicate tails
            keep = np.broadcast_to(keep, drop.shape[:3])
            b_idx = np.nonzero(keep)[0]
            device = part.amounts.device
            flat_drop = torch.from_numpy(drop[keep]).to(device)
            b_t = torch.from_numpy(b_idx).to(device)
            amounts, mask = apply_absence(
                part.amounts[b_t], part.mask[b_t], flat_drop, absence=absence,
                balance_slot=part.balance_slot[b_t],
            )
            forward = _forward(mixer)
            preds = torch.cat([
                forward(part.property_ids[b_t[i:i + batch_size]], part.ids[b_t[i:i + batch_size]],
                      amounts[i:i + batch_size], mask[i:i + batch_size])
                for i in range(0, len(b_t), batch_size)
            ]).double().cpu().numpy()
            block = np.full((len(rows), n_orders, w + 1), np.nan)
            block[keep] = preds
            out[rows, :, : w + 1] = block
    return out


def _forward(model):
    """The lean property-token forward for a Mixer; any other model as it is."""
    if isinstance(model, Mixer):
        return model.property_output
    return model


def _curve_values(preds: np.ndarray, n: int, order: str) -> np.ndarray:
    """(O, n+1) y values of one case for ``order``: drop from f(x), or gap to f(all removed)."""
    p = preds[:, : n + 1]
    if order == "positive":
        return p - p[:, :1]
    return np.abs(p - p[:, -1:])


def _area(y: np.ndarray) -> float:
    """Trapezoid area of y over an even grid on [0, 1]."""
    return float((y.sum() - 0.5 * (y[0] + y[-1])) / (len(y) - 1))


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
