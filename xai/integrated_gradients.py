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

Steps: Gauss-Legendre quadrature starts at ``start_steps`` and doubles, for the cases not yet
converged only, until |delta| <= max(tolerance * |f(x) - f(baseline)|, absolute_floor) or
``max_steps`` is reached. Attributions are in the property's standardised model units.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients
from tqdm.auto import tqdm

from models.mixer import Mixer
from xai.absence import check_absence, players
from xai.attribution import Attribution, empty_values
from xai.cases import Cases
from xai.fast_forward import property_output


def integrated_gradients(
    mixer: Mixer,
    cases: Cases,
    *,
    absence: str = "removed",
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
    absence : ``removed``, ``balance`` or ``zero``; sets the baseline (see the module docstring).
    tolerance, absolute_floor : a case has converged when its completeness gap |delta| is at
        most max(tolerance * |f(x) - f(baseline)|, absolute_floor).
    start_steps, max_steps : first and largest number of Gauss-Legendre steps.
    internal_batch_size : most path points evaluated in one forward/backward pass.

    Returns
    -------
    Attribution with method ``"ig"``: (N, T) values (NaN for non-players and padding) and, in
    ``settings``, per-case ``n_steps``, ``converged`` and ``delta`` arrays.
    """
    check_absence(absence)
    if start_steps < 1 or max_steps < start_steps:
        raise ValueError(f"need 1 <= start_steps <= max_steps, got {start_steps}, {max_steps}")
    was_training = mixer.training
    mixer.eval()
    try:
        values, deltas, steps, converged, prediction, baseline = _adaptive(
            mixer, cases, absence, tolerance=tolerance, absolute_floor=absolute_floor,
            start_steps=start_steps, max_steps=max_steps,
            internal_batch_size=internal_batch_size, progress=progress,
        )
    finally:
        mixer.train(was_training)
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
            "baseline": _BASELINES[absence],
            "quadrature": "gausslegendre",
            "tolerance": tolerance,
            "absolute_floor": absolute_floor,
            "start_steps": start_steps,
            "max_steps": max_steps,
            "units": "standardised model units",
            "n_steps": steps,
            "converged": converged,
            "delta": deltas,
        },
    )


_BASELINES = {
    "zero": "every player's amount at 0",
    "balance": "every player's amount moved into the balance ingredient (total kept on the path)",
    "removed": ("every player's amount at 0: Integrated Gradients needs an amount path, so its "
                "baseline differs from the 'removed' absence (tokens masked out)"),
}


class _PathInputs:
    """Tensors the path forward needs: inputs, baselines and the fixed per-case arguments."""

    def __init__(self, cases: Cases, absence: str) -> None:
        who = players(cases.mask, cases.balance_slot, absence)
        x = cases.amounts.to(torch.float32)
        onehot = torch.zeros_like(x)
        total = torch.zeros(len(cases), dtype=x.dtype, device=x.device)
        if absence == "balance":
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
        return property_output(mixer, property_ids, ids, full, mask)

    return forward


def _adaptive(mixer: Mixer, cases: Cases, absence: str, *, tolerance, absolute_floor,
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
    ig = IntegratedGradients(forward)
    todo = np.arange(n)
    n_steps = start_steps
    bar = tqdm(total=n, desc="integrated gradients", unit="case", disable=not progress,
               leave=False)
    while len(todo):
        for rows in length_chunks(lengths, todo, max(internal_batch_size // n_steps, 1)):
            part = _PathInputs(cases.select(rows), absence)
            attributions, delta = ig.attribute(
                part.x, baselines=part.base, additional_forward_args=part.extra,
                n_steps=n_steps, method="gausslegendre", return_convergence_delta=True,
            )
            values[rows, : part.x.shape[1]] = attributions.detach().cpu().numpy()
            deltas[rows] = delta.detach().cpu().numpy()
        steps[todo] = n_steps
        ok = np.abs(deltas[todo]) <= allowed[todo]
        converged[todo] = ok
        bar.update(int(ok.sum()))
        if n_steps * 2 > max_steps:
            break
        todo = todo[~ok]
        n_steps *= 2
    bar.close()
    return values, deltas, steps, converged, prediction, baseline


def length_chunks(lengths: np.ndarray, rows: np.ndarray, size: int) -> list[np.ndarray]:
    """``rows`` sorted by recipe length and cut into chunks of at most ``size``.

    Recipes of similar length then share a chunk, and :meth:`Cases.select` trims each chunk to
    its longest recipe, so little compute goes to padding.
    """
    rows = np.asarray(rows)
    ordered = rows[np.argsort(lengths[rows], kind="stable")]
    return [ordered[i:i + size] for i in range(0, len(ordered), max(size, 1))]
