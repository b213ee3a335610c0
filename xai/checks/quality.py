"""Checks that every attribution set carries: completeness, agreement between methods, and the
model-randomisation sanity check (Adebayo et al. 2018). Deletion curves live in
:mod:`xai.checks.deletion`.

All attributions are in the property's standardised model units. Rank statistics are computed
per case over the slots where both attribution sets are defined (the players), vectorised over
cases; they match ``scipy.stats.spearmanr`` and ``scipy.stats.kendalltau`` (tau-b).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from models.mixer import Mixer
from xai.attribution.results import Attribution
from xai.cases import Cases


@dataclass(frozen=True)
class Completeness:
    """How far each case's attributions are from summing to f(x) - f(baseline).

    ``error`` (N,) is sum(values) - (prediction - baseline); ``relative`` (N,) is |error| over
    |prediction - baseline|; ``within`` (N,) marks |error| <= max(tolerance * gap, floor).
    """

    method: str
    error: np.ndarray
    relative: np.ndarray
    within: np.ndarray
    tolerance: float
    floor: float

    def to_dict(self) -> dict:
        err = np.abs(self.error)
        return {
            "method": self.method,
            "n": len(err),
            "tolerance": self.tolerance,
            "floor": self.floor,
            "max_abs_error": _nan_stat(np.max, err),
            "median_abs_error": _nan_stat(np.median, err),
            "max_relative_error": _nan_stat(np.max, self.relative),
            "median_relative_error": _nan_stat(np.median, self.relative),
            "share_within_tolerance": _nan_stat(np.mean, self.within),
        }


def completeness(
    attribution: Attribution, *, tolerance: float = 1e-3, floor: float = 1e-5
) -> Completeness:
    """Completeness error of every case, absolute and relative to the prediction gap."""
    error = attribution.completeness_error
    gap = np.abs(attribution.prediction - attribution.baseline)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.abs(error) / gap
    return Completeness(
        method=attribution.method,
        error=error,
        relative=relative,
        within=np.abs(error) <= np.maximum(tolerance * gap, floor),
        tolerance=tolerance,
        floor=floor,
    )


@dataclass(frozen=True)
class Agreement:
    """Per-case agreement between two attribution sets for the same cases.

    ``spearman`` / ``kendall`` (N,) rank correlations over shared players (NaN with fewer than two
    or when either set is constant), ``top_k`` (N,) the share of the k largest |attributions| the
    two sets have in common, ``sign`` (N,) the share of players with the same sign.
    """

    methods: tuple[str, str]
    formulation_ids: tuple[str, ...]
    properties: tuple[str, ...]
    spearman: np.ndarray
    kendall: np.ndarray
    top_k: np.ndarray
    sign: np.ndarray
    n_players: np.ndarray
    k: int

    def summary(self, rows: np.ndarray | None = None) -> dict:
        pick = slice(None) if rows is None else rows
        return {
            "n": int(np.size(self.n_players[pick])),
            "spearman_mean": _nan_stat(np.mean, self.spearman[pick]),
            "spearman_median": _nan_stat(np.median, self.spearman[pick]),
            "kendall_mean": _nan_stat(np.mean, self.kendall[pick]),
            f"top{self.k}_overlap_mean": _nan_stat(np.mean, self.top_k[pick]),
            "sign_agreement_mean": _nan_stat(np.mean, self.sign[pick]),
        }

    def to_dict(self) -> dict:
        props = np.asarray(self.properties, dtype=object)
        return {
            "methods": list(self.methods),
            "k": self.k,
            "overall": self.summary(),
            "per_property": {p: self.summary(props == p) for p in sorted(set(self.properties))},
        }


def agreement(a: Attribution, b: Attribution, *, k: int = 3) -> Agreement:
    """Rank agreement of two attribution sets case by case (Spearman, Kendall tau-b, top-k
    overlap of |attribution|, sign agreement), over the players both define."""
    if (a.formulation_ids, a.properties) != (b.formulation_ids, b.properties):
        raise ValueError("the two attribution sets must explain the same cases in the same order")
    width = min(a.values.shape[1], b.values.shape[1])
    x, y = a.values[:, :width], b.values[:, :width]
    valid = np.isfinite(x) & np.isfinite(y)
    return Agreement(
        methods=(a.method, b.method),
        formulation_ids=a.formulation_ids,
        properties=a.properties,
        spearman=spearman_rows(x, y, valid),
        kendall=kendall_rows(x, y, valid),
        top_k=top_k_overlap(x, y, valid, k),
        sign=_sign_agreement(x, y, valid),
        n_players=valid.sum(1),
        k=k,
    )


def spearman_rows(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Spearman correlation of each row of ``x`` with the same row of ``y`` (N, T) over the
    ``valid`` entries (default: finite in both); NaN where undefined."""
    valid = _valid(x, y, valid)
    rx = rankdata(np.where(valid, x, np.nan), axis=1, nan_policy="omit")
    ry = rankdata(np.where(valid, y, np.nan), axis=1, nan_policy="omit")
    return _pearson_rows(np.nan_to_num(rx), np.nan_to_num(ry), valid)


def kendall_rows(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Kendall tau-b of each row pair over the ``valid`` entries; NaN where undefined."""
    valid = _valid(x, y, valid)
    x, y = np.where(valid, x, 0.0), np.where(valid, y, 0.0)
    pair = valid[:, :, None] & valid[:, None, :]  # (N, T, T)
    dx = np.sign(x[:, :, None] - x[:, None, :]) * pair
    dy = np.sign(y[:, :, None] - y[:, None, :]) * pair
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = (dx * dy).sum((1, 2)) / np.sqrt((dx**2).sum((1, 2)) * (dy**2).sum((1, 2)))
    return np.where(np.isfinite(tau), tau, np.nan)


def top_k_overlap(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None, k: int) -> np.ndarray:
    """Share of the k largest |x| among the k largest |y|, per row (k capped at the players)."""
    valid = _valid(x, y, valid)
    n = valid.sum(1)
    kk = np.minimum(k, n)
    top_x = _top_mask(np.where(valid, np.abs(x), -np.inf), kk)
    top_y = _top_mask(np.where(valid, np.abs(y), -np.inf), kk)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(kk > 0, (top_x & top_y).sum(1) / kk, np.nan)


@dataclass(frozen=True)
class SanityCheck:
    """Model-randomisation check: similarity of attributions on ever more randomised models.

    ``stages`` names the cumulative re-initialisations (``original`` first, then the head, the
    blocks from the last down, and the embeddings); ``spearman`` / ``abs_spearman`` (S,) are the
    mean per-case Spearman correlations with the original attributions, signed and of
    |attribution|. Faithful attributions depend on the weights, so the similarity must fall;
    ``passed`` is True when the fully randomised model's signed similarity is below ``threshold``.
    """

    method: str
    stages: tuple[str, ...]
    spearman: np.ndarray
    abs_spearman: np.ndarray
    n_cases: int
    threshold: float
    settings: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.spearman[-1] < self.threshold)

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "n_cases": self.n_cases,
            "stages": list(self.stages),
            "spearman": self.spearman.tolist(),
            "abs_spearman": self.abs_spearman.tolist(),
            "threshold": self.threshold,
            "passed": self.passed,
            "settings": dict(self.settings),
        }


def randomisation_check(
    mixer: Mixer,
    cases: Cases,
    attribute: Callable[[Mixer, Cases], Attribution],
    *,
    seed: int = 0,
    threshold: float = 0.5,
    original: Attribution | None = None,
) -> SanityCheck:
    """Cascading model-randomisation sanity check (Adebayo et al. 2018).

    Re-initialises, on a deep copy and cumulatively from the top down, the head, each block from
    the last to the first, and finally the embeddings and input projection, with a generator
    seeded by ``seed``; after each stage ``attribute(model, cases)`` is recomputed and compared
    with the original attributions (``original``, or computed on ``mixer``).
    """
    reference = original if original is not None else attribute(mixer, cases)
    generator = torch.Generator().manual_seed(seed)
    model = copy.deepcopy(mixer).eval()
    names, parts = ["original"], [None]
    names.append("head")
    parts.append([model.head, model.norm])
    for i in reversed(range(len(model.blocks))):
        names.append(f"block {i}")
        parts.append([model.blocks[i]])
    names.append("embeddings")
    parts.append([model.ingredient_embedding, model.property_embedding, model.project])
    signed, absolute = [], []
    for modules in parts:
        if modules is None:
            current = reference
        else:
            for module in modules:
                _reinitialise(module, generator)
            current = attribute(model, cases)
        valid = np.isfinite(reference.values) & np.isfinite(current.values)
        signed.append(_nan_stat(np.mean, spearman_rows(reference.values, current.values, valid)))
        absolute.append(_nan_stat(np.mean, spearman_rows(np.abs(reference.values),
                                                         np.abs(current.values), valid)))
    return SanityCheck(
        method=reference.method,
        stages=tuple(names),
        spearman=np.asarray(signed),
        abs_spearman=np.asarray(absolute),
        n_cases=len(cases),
        threshold=threshold,
        settings={"seed": seed, "cascade": "top-down", "absence": str(reference.absence)},
    )


@torch.no_grad()
def _reinitialise(module: nn.Module, generator: torch.Generator) -> None:
    """Fresh random weights from ``generator``: Linear layers uniform in +-1/sqrt(fan_in) (the
    PyTorch default scale), embeddings normal with the table's current spread."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            bound = 1.0 / math.sqrt(sub.in_features)
            sub.weight.uniform_(-bound, bound, generator=generator)
            if sub.bias is not None:
                sub.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(sub, nn.Embedding):
            std = float(sub.weight.std()) or 1.0
            sub.weight.normal_(0.0, std, generator=generator)
            if sub.padding_idx is not None:
                sub.weight[sub.padding_idx].zero_()
        elif isinstance(sub, nn.LayerNorm):
            sub.reset_parameters()


def _valid(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    finite = np.isfinite(x) & np.isfinite(y)
    return finite if valid is None else valid & finite


def _pearson_rows(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    n = valid.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = (x * valid).sum(1) / n
        my = (y * valid).sum(1) / n
        cx = (x - mx[:, None]) * valid
        cy = (y - my[:, None]) * valid
        r = (cx * cy).sum(1) / np.sqrt((cx**2).sum(1) * (cy**2).sum(1))
    r = np.where(np.isfinite(r) & (n >= 2), r, np.nan)
    return np.clip(r, -1.0, 1.0)


def _top_mask(scores: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(N, T) bool: the k[i] highest entries of row i (ties broken by slot order)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), 1)
    return ranks < k[:, None]


def _sign_agreement(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    n = valid.sum(1)
    same = (np.sign(np.where(valid, x, 0)) == np.sign(np.where(valid, y, 0))) & valid
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, same.sum(1) / n, np.nan)


def _nan_stat(fn, values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(fn(values)) if values.size else float("nan")
