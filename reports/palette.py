"""One colour per ingredient group, built once per report and passed to every figure and table.

The same group keeps the same colour in the UMAP scatter, the attribution bars, the heatmap
side strips and the review pages, so a reader learns the colours once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Colour-blind friendly qualitative colours (Okabe-Ito first, then Tableau's muted ones).
COLOURS = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#a6761d",
    "#8c564b", "#7f7f7f", "#17becf", "#bcbd22", "#9467bd", "#1f77b4", "#ff7f0e",
    "#2ca02c", "#d62728", "#e377c2", "#393b79", "#637939", "#8c6d31",
)
UNGROUPED = "ungrouped"
UNGROUPED_COLOUR = "#b0b0b0"


@dataclass(frozen=True)
class Palette:
    """Group -> colour, and ingredient -> group, for a whole report."""

    groups: Mapping[str, str]
    colours: Mapping[str, str]
    names: Mapping[str, str] = field(default_factory=dict)

    def label(self, ingredient: str) -> str:
        """The ingredient's readable name beside its code (``carbomer 940 (I023)``), or the
        code alone where no name is given."""
        name = self.names.get(ingredient, "")
        return f"{name} ({ingredient})" if name and name != ingredient else ingredient

    def group_of(self, ingredient: str) -> str:
        return self.groups.get(ingredient, UNGROUPED)

    def colour(self, ingredient: str) -> str:
        """The colour of an ingredient's group (grey when it has none)."""
        return self.colours.get(self.group_of(ingredient), UNGROUPED_COLOUR)

    def group_colour(self, group: str) -> str:
        return self.colours.get(group, UNGROUPED_COLOUR)

    def legend(self, ingredients: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(group, colour) pairs, sorted, for the groups of ``ingredients`` (default: all)."""
        if ingredients is None:
            names = sorted(self.colours)
        else:
            names = sorted({self.group_of(i) for i in ingredients})
        return [(g, self.group_colour(g)) for g in names]


def build_palette(groups: Mapping[str, str], names: Mapping[str, str] | None = None) -> Palette:
    """A palette for the expert groups ``{ingredient: group}``; colours follow the sorted group
    names, so the same groups always get the same colours; ``names`` gives readable ingredient
    names for :meth:`Palette.label`."""
    ordered = sorted(set(groups.values()) - {UNGROUPED})
    colours = {g: COLOURS[i % len(COLOURS)] for i, g in enumerate(ordered)}
    colours[UNGROUPED] = UNGROUPED_COLOUR
    return Palette(groups=dict(groups), colours=colours, names=dict(names or {}))
