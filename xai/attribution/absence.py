"""What "this ingredient is absent" means for a recipe.

A shared background dataset (the usual SHAP choice) is meaningless for recipes: each formulation
holds its own set of ingredients. Absence is therefore defined per recipe, in one of three ways:

``removed``
    the ingredient's token is masked out of attention: the recipe simply does not contain it.
``balance``
    as ``removed``, and its amount is added to the balance ingredient (water), so the recipe
    keeps its total. The balance ingredient itself is then never a player: its amount is
    whatever the others leave, and the empty coalition is "balance ingredient alone".
``zero``
    the token stays, with amount 0: the natural baseline of the amount path of Integrated
    Gradients.
"""

from __future__ import annotations

import torch

ABSENCES = ("removed", "balance", "zero")


def check_absence(how: str) -> str:
    if how not in ABSENCES:
        raise ValueError(f"absence must be one of {ABSENCES}, not {how!r}")
    return how


def players(mask: torch.Tensor, balance_slot: torch.Tensor | None, how: str) -> torch.Tensor:
    """(N, T) bool: the slots whose presence is attributed (present, and not the balance slot
    when ``how == 'balance'``)."""
    out = mask.clone()
    if how == "balance":
        _require_balance(balance_slot)
        has = balance_slot >= 0
        out[has.nonzero().squeeze(1), balance_slot[has]] = False
    return out


def apply_absence(
    amounts: torch.Tensor,
    mask: torch.Tensor,
    drop: torch.Tensor,
    *,
    how: str,
    balance_slot: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Recipes with the slots in ``drop`` made absent.

    ``amounts`` / ``mask`` / ``drop`` are (N, T); ``balance_slot`` (N,) is the slot of the balance
    ingredient in each recipe (-1 where a recipe has none; its dropped amount then just goes).
    Returns new (amounts, mask); the inputs are not modified.
    """
    drop = drop & mask
    if how == "zero":
        return amounts.masked_fill(drop, 0.0), mask
    new_mask = mask & ~drop
    if how == "removed":
        return amounts, new_mask
    _require_balance(balance_slot)
    has = balance_slot >= 0
    rows = has.nonzero().squeeze(1)
    moved = (amounts * drop).sum(1)  # (N,) amount to top the balance up with
    new_amounts = amounts.clone()
    new_amounts[rows, balance_slot[has]] += moved[has]
    return new_amounts, new_mask


def _require_balance(balance_slot: torch.Tensor | None) -> None:
    if balance_slot is None:
        raise ValueError("absence 'balance' needs the balance ingredient (e.g. water): "
                         "name it with --balance")
