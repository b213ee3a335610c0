"""Integrated Gradients on ingredient amounts, batched over many cases, with adaptive steps.

The path runs from a baseline recipe to the recipe along the amounts of the players (the
ingredients whose effect is attributed); ingredient identities and the attention mask stay fixed,
so every point on the path is a recipe the model can read. Baselines per absence definition:

``zero``
    every player's amount at 0.
``balance``
    every player's amount at 0 and all of it in the balance ingredient, moving in a straight line
    to the recipe so that every point keeps the recipe's total. The balance amount is a function
    of the players' amounts (total minus their sum), so its gradient is folded into theirs and
    completeness holds over the players alone.
``removed``
    has no amount path (a token cannot be partly removed); the zero-amount path is used instead
    and ``settings["baseline"]`` says so. The baseline prediction is then f(all amounts 0), not
    f(recipe without ingredients).

Steps: the path integral is computed with nested Clenshaw-Curtis quadrature. It starts with
``start_steps`` intervals (``start_steps + 1`` gradient evaluations along the path) and doubles
them, for the cases not yet converged only, until |delta| <= max(tolerance * |f(x) - f(baseline)|,
absolute_floor) or ``max_steps`` is reached. The nodes of a rule are the even-numbered nodes of
the rule with twice the intervals, so every gradient computed at a coarser level is reused: a
case that needs 32 intervals costs 33 gradient evaluations, not 8 + 16 + 32 as with a
non-nested rule such as Gauss-Legendre. Attributions are in the property's standardised model
units.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from models.mixer import Mixer
from models.modes import evaluation
from xai.absence import REMOVED, Absence, as_absence, players
from xai.attribution.results import Attribution, empty_values
from xai.cases import Cases, length_chunks


def integrated_gradients(
    mixer: Mixer,
    cases: Cases,
    *,
    absence: Absence | str = REMOVED,
    tolerance: float = 1e-3,
    absolute_floor: float = 1e-5,
    start_steps: int = 8,
    max_steps: int = 256,
    internal_batch_size: int = 8192,
    progress: bool = False,
) -> Attribution:
    """Integrated Gradients of each case's prediction with respect to its players' amounts.

    Parameters
    ----------
    mixer : the model; it is put in eval mode for the call and restored afterwards.
    cases : the (formulation, property) pairs to explain.
    absence : an :class:`~xai.absence.Absence` (or its kind's name); sets the
        baseline (see the module docstring).
    tolerance, absolute_floor : a case has converged when its completeness gap |delta| is at
        most max(tolerance * |f(x) - f(baseline)|, absolute_floor).
    start_steps, max_steps : first and largest number of quadrature intervals; a case
        integrated with n intervals has had its gradient evaluated at n + 1 points.
    internal_batch_size : most path points evaluated in one forward/backward pass.

    Returns
    -------
    Attribution with method ``"ig"``: (N, T) values (NaN for non-players and padding) and the
    per-case diagnostics ``n_steps`` (intervals of the last rule used), ``converged`` and
    ``delta``.
    """
    absence = as_absence(absence)
    if start_steps < 1 or max_steps < start_steps:
        raise ValueError(f"need 1 <= start_steps <= max_steps, got {start_steps}, {max_steps}")
    with evaluation(mixer):
        values, deltas, steps, converged, prediction, baseline = _adaptive(
            mixer, cases, absence, tolerance=tolerance, absolute_floor=absolute_floor,
            start_steps=start_steps, max_steps=max_steps,
            internal_batch_size=internal_batch_size, progress=progress,
        )
    out = empty_values(cases)
    who = players(cases.mask, cases.balance_slot, absence).cpu().numpy()
    out[who] = values[who]
    return Attribution(
        method="ig",
        absence=absence,
        formulation_ids=cases.formulation_ids,
        properties=cases.properties,
        ingredients=cases.ingredients,
        raw_amounts=cases.raw_amounts,
        values=out,
        prediction=prediction,
        baseline=baseline,
        std_errors=None,
        settings={
            "baseline": _BASELINES[absence.kind],
            "quadrature": "clenshaw-curtis, nested",
            "tolerance": tolerance,
            "absolute_floor": absolute_floor,
            "start_steps": start_steps,
            "max_steps": max_steps,
            "units": "standardised model units",
        },
        n_steps=steps,
        converged=converged,
        delta=deltas,
    )


_BASELINES = {
    "zero": "every player's amount at 0",
    "balance": "every player's amount moved into the balance ingredient (total kept on the path)",
    "removed": ("every player's amount at 0: Integrated Gradients needs an amount path, so its "
                "baseline differs from the 'removed' absence (tokens masked out)"),
}


class _PathInputs:
    """Tensors the path forward needs: inputs, baselines and the fixed per-case arguments."""

    def __init__(self, cases: Cases, absence: Absence) -> None:
        who = players(cases.mask, cases.balance_slot, absence)
        x = cases.amounts.to(torch.float32)
        onehot = torch.zeros_like(x)
        total = torch.zeros(len(cases), dtype=x.dtype, device=x.device)
        if absence.kind == "balance":
            has = (cases.balance_slot >= 0).nonzero().squeeze(1)
            onehot[has, cases.balance_slot[has]] = 1.0
            total = (x * (who | onehot.bool())).sum(1)  # players plus the balance ingredient
        self.x = x
        self.base = x.masked_fill(who, 0.0)
        self.extra = (cases.property_ids, cases.ids, cases.mask, onehot, total)


def _path_forward(mixer: Mixer):
    """f(amounts) with the balance slot (where there is one) holding total minus the players;
    the forward computes only what the property token's output needs."""

    def forward(amounts, property_ids, ids, mask, balance_onehot, total):
        players_sum = (amounts * (1.0 - balance_onehot) * mask).sum(1, keepdim=True)
        balance = (total.unsqueeze(1) - players_sum) * balance_onehot
        full = amounts * (1.0 - balance_onehot) + balance
        return mixer.property_output(property_ids, ids, full, mask)

    return forward


def _adaptive(mixer: Mixer, cases: Cases, absence: Absence, *, tolerance, absolute_floor,
              start_steps, max_steps, internal_batch_size, progress):
    n, width = cases.ids.shape
    values = np.zeros((n, width))
    deltas = np.full(n, np.nan)
    steps = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    prediction, baseline = np.zeros(n), np.zeros(n)
    forward = _path_forward(mixer)
    lengths = cases.mask.sum(1).cpu().numpy()
    with torch.no_grad():
        for rows in length_chunks(lengths, np.arange(n), internal_batch_size):
            part = _PathInputs(cases.select(rows), absence)
            prediction[rows] = forward(part.x, *part.extra).double().cpu().numpy()
            baseline[rows] = forward(part.base, *part.extra).double().cpu().numpy()
    allowed = np.maximum(tolerance * np.abs(prediction - baseline), absolute_floor)
    chunk = max(internal_batch_size // (start_steps + 1), 1)
    with tqdm(total=n, desc="integrated gradients", unit="case", disable=not progress,
              leave=False) as bar:
        for rows in length_chunks(lengths, np.arange(n), chunk):
            part = _PathInputs(cases.select(rows), absence)
            for found in _integrate_chunk(forward, part, prediction[rows] - baseline[rows],
                                          allowed[rows], start_steps, max_steps,
                                          internal_batch_size):
                at = rows[found.rows]
                values[at, : part.x.shape[1]] = found.values
                deltas[at], steps[at], converged[at] = found.delta, found.n_steps, found.converged
                bar.update(len(at))
    return values, deltas, steps, converged, prediction, baseline


@dataclass(frozen=True)
class _Finished:
    """Cases of a chunk that are done (converged, or at the largest rule)."""

    rows: np.ndarray
    values: np.ndarray
    delta: np.ndarray
    n_steps: int
    converged: np.ndarray


def _integrate_chunk(forward, part: _PathInputs, spread: np.ndarray, allowed: np.ndarray,
                     start_steps: int, max_steps: int, batch: int) -> Iterator[_Finished]:
    """Refine the rule for the chunk's unconverged cases, reusing the gradients already taken."""
    diff = (part.x - part.base).double().cpu().numpy()
    active = np.arange(len(spread))
    intervals = start_steps
    nodes, weights = clenshaw_curtis(intervals)
    grads = _path_gradients(forward, part, active, nodes, batch)  # (nodes, cases, T)
    while True:
        values = np.einsum("k,kbt->bt", weights, grads) * diff[active]
        delta = values.sum(1) - spread[active]
        ok = np.abs(delta) <= allowed[active]
        last = intervals * 2 > max_steps
        done = np.ones_like(ok) if last else ok
        if done.any():
            yield _Finished(active[done], values[done], delta[done], intervals, ok[done])
        if last or done.all():
            return
        active, grads = active[~done], grads[:, ~done]
        intervals *= 2
        nodes, weights = clenshaw_curtis(intervals)
        refined = np.empty((intervals + 1, *grads.shape[1:]))
        refined[0::2] = grads
        refined[1::2] = _path_gradients(forward, part, active, nodes[1::2], batch)
        grads = refined


def _path_gradients(forward, part: _PathInputs, rows: np.ndarray, nodes: np.ndarray,
                    batch: int) -> np.ndarray:
    """(len(nodes), len(rows), T) gradients of f at baseline + t * (x - baseline), for each
    node t and each of ``rows``; at most ``batch`` path points per forward/backward pass."""
    index = torch.as_tensor(rows, device=part.x.device)
    x, base = part.x[index], part.base[index]
    extra = tuple(a[index] for a in part.extra)
    out = np.empty((len(nodes), len(rows), x.shape[1]))
    per_pass = max(batch // max(len(rows), 1), 1)
    for start in range(0, len(nodes), per_pass):
        t = torch.as_tensor(nodes[start:start + per_pass], dtype=x.dtype, device=x.device)
        k = len(t)
        points = (base + t[:, None, None] * (x - base)).reshape(k * len(rows), -1)
        points.requires_grad_(True)
        repeated = tuple(a.repeat(k, *([1] * (a.dim() - 1))) for a in extra)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(forward(points, *repeated).sum(), points)
        out[start:start + k] = grad.view(k, len(rows), -1).double().cpu().numpy()
    return out


def clenshaw_curtis(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the Clenshaw-Curtis rule with ``intervals`` + 1 points on [0, 1].

    Node k is (1 - cos(k pi / intervals)) / 2, so the rule with twice the intervals holds these
    nodes at its even positions. The rule integrates polynomials up to degree ``intervals``
    exactly (Waldvogel's closed form of the weights).
    """
    n = intervals
    if n < 1:
        raise ValueError("a Clenshaw-Curtis rule needs at least one interval")
    theta = np.pi * np.arange(n + 1) / n
    weights = np.empty(n + 1)
    if n == 1:
        weights[:] = 1.0
    else:
        j = np.arange(1, n // 2 + 1)
        terms = np.cos(2 * j[:, None] * theta[None, 1:n]) / (4 * j[:, None] ** 2 - 1)
        if n % 2 == 0:
            terms[-1] /= 2  # the j = n/2 term enters once, not twice
        weights[1:n] = 2 * (1 - 2 * terms.sum(0)) / n
        weights[0] = weights[n] = 1 / (n * n - 1) if n % 2 == 0 else 1 / (n * n)
    return (1 - np.cos(theta)) / 2, weights / 2
