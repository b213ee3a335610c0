"""The two sizes of a benchmark run: full (the reference figures) and quick (a smoke run)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.contention import ContentionConfig
from bench.ig import IGConfig
from bench.partitioned import PartitionedConfig
from bench.scale import ScaleConfig
from bench.shapley import ShapleyConfig
from bench.startup import StartupConfig
from bench.training import TrainingConfig

BENCHMARKS = ("training", "shapley", "ig", "scale", "startup", "contention", "partitioned")


@dataclass(frozen=True)
class Settings:
    """Everything a run measures. ``pool`` recipes are drawn from the synthetic generator for
    the Shapley and IG benchmarks; ``model_epochs`` caps the shared model's training (None: to
    early stop, the training benchmark's own run)."""

    mode: str
    pool: int
    model_epochs: int | None
    training: TrainingConfig = field(default_factory=TrainingConfig)
    shapley: ShapleyConfig = field(default_factory=ShapleyConfig)
    ig: IGConfig = field(default_factory=IGConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    startup: StartupConfig = field(default_factory=StartupConfig)
    contention: ContentionConfig = field(default_factory=ContentionConfig)
    partitioned: PartitionedConfig = field(default_factory=PartitionedConfig)
    budget_s: float = 20 * 60


def full() -> Settings:
    return Settings(mode="full", pool=16_000, model_epochs=None)


def large_scale() -> Settings:
    """``make bench-scale``: the report at 50,000 and 500,000 recipes (too long for
    ``make bench``'s 20 minutes)."""
    return Settings(mode="scale", pool=0, model_epochs=1,
                    scale=ScaleConfig(sizes=(50_000, 500_000)), budget_s=40 * 60)


def quick() -> Settings:
    return Settings(
        mode="quick", pool=3_000, model_epochs=3,
        training=TrainingConfig(epochs=3, throughput_epochs=2, demo=False),
        shapley=ShapleyConfig(sizes=(6, 10, 14), recipes_per_size=2, exact_limit=14,
                              shap_exact_limit=10, plain_exact_limit=10,
                              permutations=(16, 64, 256), se_target_sizes=(14,),
                              batch_recipes=100, batch_repeats=1, kernel_batch_recipes=5),
        ig=IGConfig(n_recipes=40, captum_steps=(50, 100), repeats=1, n_pairs=500,
                    pair_repeats=1),
        scale=ScaleConfig(sizes=(300, 1_000),
                          report_args=("--quick", "--max-cases", "30", "--review-pages", "2")),
        contention=ContentionConfig(concurrency=(1, 2), n_formulations=150, epochs=3),
        partitioned=PartitionedConfig(n_recipes=1_000),
        budget_s=3 * 60,
    )


def tiny() -> Settings:
    """A few seconds' worth, for the smoke test: every code path, no meaningful figure."""
    return Settings(
        mode="tiny", pool=400, model_epochs=1,
        training=TrainingConfig(epochs=1, throughput_epochs=1, demo=False),
        shapley=ShapleyConfig(sizes=(6,), recipes_per_size=1, exact_limit=6,
                              shap_exact_limit=6, plain_exact_limit=6, permutations=(4,),
                              se_target_sizes=(6,), se_target_cap=256,
                              batch_players=6, batch_recipes=3, batch_repeats=1,
                              kernel_batch_recipes=1, shap_methods=("kernel", "exact")),
        ig=IGConfig(n_recipes=3, captum_steps=(4,), repeats=1, n_pairs=10, pair_repeats=1,
                    max_steps=16),
        scale=ScaleConfig(sizes=(60,)),
        startup=StartupConfig(repeats=1),
        contention=ContentionConfig(concurrency=(1, 2), n_formulations=60, epochs=1),
        partitioned=PartitionedConfig(n_recipes=40),
        budget_s=60,
    )
