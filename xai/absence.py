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

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only tensor methods are called here: importing this module stays light
    import torch

ABSENCES = ("removed", "balance", "zero")


@dataclass(frozen=True)
class Absence:
    """What "this ingredient is absent" means, built once at the edge and passed down.

    ``kind`` is one of :data:`ABSENCES`; ``balance_ingredient`` names the ingredient that takes up
    what the absent ones leave under ``balance`` (None: the one the data name, e.g. in
    ``truth.json``). ``str(absence)`` is the kind, as results and tables record it.
    """

    kind: str
    balance_ingredient: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ABSENCES:
            raise ValueError(f"absence must be one of {ABSENCES}, not {self.kind!r}")
        if self.balance_ingredient is not None and self.kind != "balance":
            raise ValueError(f"only the balance absence names an ingredient, not {self.kind!r}")

    @classmethod
    def removed(cls) -> Absence:
        """The ingredient's token is masked out: the recipe simply does not contain it."""
        return cls("removed")

    @classmethod
    def balance(cls, ingredient: str | None = None) -> Absence:
        """As removed, and its amount goes to ``ingredient`` (e.g. water), keeping the total."""
        return cls("balance", ingredient)

    @classmethod
    def zero(cls) -> Absence:
        """The token stays with amount 0 (the baseline of Integrated Gradients' amount path)."""
        return cls("zero")

    def __str__(self) -> str:
        return self.kind

    def players(self, mask: torch.Tensor, balance_slot: torch.Tensor | None) -> torch.Tensor:
        """See :func:`players`."""
        return players(mask, balance_slot, self)

    def apply(self, amounts: torch.Tensor, mask: torch.Tensor, drop: torch.Tensor, *,
              balance_slot: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """See :func:`apply_absence`."""
        return apply_absence(amounts, mask, drop, absence=self, balance_slot=balance_slot)


REMOVED = Absence.removed()
"""The default absence of the analysers (a module-level value, so defaults build nothing)."""


def as_absence(absence: str | Absence) -> Absence:
    """``absence`` as an :class:`Absence` (names are the kinds of :data:`ABSENCES`): what the
    public entry points call once, so that everything below them holds the object."""
    return absence if isinstance(absence, Absence) else Absence(absence)


def players(mask: torch.Tensor, balance_slot: torch.Tensor | None,
            absence: Absence) -> torch.Tensor:
    """(N, T) bool: the slots whose presence is attributed (present, and not the balance slot
    under the ``balance`` absence)."""
    out = mask.clone()
    if absence.kind == "balance":
        _require_balance(balance_slot)
        has = balance_slot >= 0
        out[has.nonzero().squeeze(1), balance_slot[has]] = False
    return out


def apply_absence(
    amounts: torch.Tensor,
    mask: torch.Tensor,
    drop: torch.Tensor,
    *,
    absence: Absence,
    balance_slot: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Recipes with the slots in ``drop`` made absent.

    ``amounts`` / ``mask`` / ``drop`` are (N, T); ``balance_slot`` (N,) is the slot of the balance
    ingredient in each recipe (-1 where a recipe has none; its dropped amount then just goes).
    Returns new (amounts, mask); the inputs are not modified.
    """
    drop = drop & mask
    if absence.kind == "zero":
        return amounts.masked_fill(drop, 0.0), mask
    new_mask = mask & ~drop
    if absence.kind == "removed":
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
                         "name it, e.g. Absence.balance('water') or --balance water")
