"""The options of the representation analysis, free of heavy imports (the command line reads
their defaults without loading the numerical stack)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Options of the representation analysis and its hypotheses."""

    alpha: float = 0.05
    metric: str = "cosine"
    linkage: str = "average"
    rare_threshold: int = 5
    layout: str | None = "auto"
    n_permutations: int = 999
    knn: int = 5
    n_bootstrap: int = 2000
    n_random: int = 20
    low_data_threshold: int = 100
    attention_threshold: float = 0.1
    monotonic_share: float = 0.9
    slope_band: tuple[float, float] = (-1.25, -0.75)
    slope_transform: str = "log"
