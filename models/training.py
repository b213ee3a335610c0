"""A small, generic trainer: AdamW, warm-up then cosine decay, clipping, early stopping.

A residual attention stack without LayerNorm can train well for a while and then blow up to a
constant prediction. Three guards keep that from reaching the user: gradient clipping, a learning
rate that warms up and then decays, and early stopping that restores the best validation weights
(a non-finite loss also stops training). The trainer knows nothing about formulations; it sees
samples that index into a block of padded recipes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from models.choices import DEFAULT_EPOCHS
from models.encoding import RecipeTensors
from models.mixer import Mixer
from models.modes import evaluation
from models.threads import at_most_threads


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 128
    lr: float = 1e-2
    weight_decay: float = 0.1
    warmup_epochs: int = 5
    min_lr_ratio: float = 0.02
    patience: int = 30
    grad_clip: float = 1.0
    seed: int = 0
    snapshot_every: int = 0  # keep embedding tables every k epochs (0: never)
    # early stopping reads the median of the last k validation losses (1: the raw loss); a
    # validation set of a few dozen recipes gives a loss too noisy to pick an epoch from
    smoothing: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Samples:
    """Measurements as rows into ``recipes``: sample i is recipe ``recipe_index[i]``, property
    ``property_ids[i]``, standardised target ``targets[i]``."""

    recipes: RecipeTensors
    recipe_index: torch.Tensor
    property_ids: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.recipe_index)

    def batch(self, rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(property_ids, ingredient_ids, amounts, mask, targets) for sample rows ``rows``."""
        r = self.recipes.take(self.recipe_index[rows])
        return self.property_ids[rows], r.ids, r.amounts, r.mask, self.targets[rows]


@dataclass
class History:
    """What happened per epoch, and the embedding snapshots for learning dynamics."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_validation_loss: float = math.inf
    stop_reason: str = ""
    snapshots: list[dict] = field(default_factory=list)  # {epoch, ingredients, properties}

    def to_dict(self) -> dict:
        return {
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "best_validation_loss": self.best_validation_loss,
            "stop_reason": self.stop_reason,
        }


def learning_rate_factor(epoch: float, config: TrainConfig) -> float:
    """Linear warm-up over ``warmup_epochs``, then cosine decay to ``min_lr_ratio``."""
    if epoch < config.warmup_epochs:
        return (epoch + 1) / (config.warmup_epochs + 1)
    progress = (epoch - config.warmup_epochs) / max(config.epochs - config.warmup_epochs, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine


def length_bucketed_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, *, pool_batches: int = 32
) -> list[torch.Tensor]:
    """Shuffled batches of sample rows whose recipes have similar lengths.

    Rows are shuffled, then sorted by recipe length within pools of ``pool_batches`` batches, cut
    into batches, and the batches shuffled: each batch pads to little more than its own recipes
    (recipes range from 5 to 40 ingredients), while the order stays random from epoch to epoch.
    """
    order = torch.randperm(len(lengths), generator=generator)
    batches: list[torch.Tensor] = []
    pool = pool_batches * batch_size
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches.extend(chunk.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffle]


LENGTH_BUCKET = 8
"""Predictions pad each recipe to its length rounded up to a multiple of this."""


PREDICT_ROWS = 256
"""Rows of every forward call :func:`predict_samples` makes."""


def forward_calls(lengths: torch.Tensor, rows: int = PREDICT_ROWS
                  ) -> list[tuple[int, torch.Tensor]]:
    """The forward calls :func:`predict_samples` makes for samples whose recipes have
    ``lengths`` ingredients: ``(width, sample indices)`` per call, in order. Recipes are grouped
    by length rounded up to :data:`LENGTH_BUCKET` slots, ``rows`` samples a call (the last of
    each length fewer, the call then filled up with empty recipes)."""
    buckets = torch.clamp((lengths + LENGTH_BUCKET - 1) // LENGTH_BUCKET, min=1)
    return [(bucket * LENGTH_BUCKET, index) for bucket in torch.unique(buckets).tolist()
            for index in torch.nonzero(buckets == bucket).squeeze(1).split(rows)]


@torch.no_grad()
def predict_samples(mixer: Mixer, samples: Samples, *, batch_size: int = PREDICT_ROWS
                    ) -> np.ndarray:
    """Standardised predictions for every sample, in order.

    Recipes run in the calls of :func:`forward_calls`: padded to their length rounded up to
    :data:`LENGTH_BUCKET` slots rather than to the longest recipe of a batch (with recipes of 5
    to 40 ingredients about twice as fast), in calls of exactly ``batch_size`` rows. A recipe's
    prediction depends on the recipe and on its row in the call (on some CPUs the matrix
    kernels round differently at different memory alignments, measured on an AMD EPYC): samples
    given in the order of :func:`forward_calls` and cut between its calls run in the same calls
    at the same rows, so their predictions equal one run's to the bit.
    """
    predicted = torch.empty(len(samples))
    lengths = samples.recipes.mask.sum(1)[samples.recipe_index]
    with evaluation(mixer):
        for width, rows in forward_calls(lengths, batch_size):
            r = samples.recipes.take(samples.recipe_index[rows])
            ids, amounts, mask = (_pad(t, width, batch_size) for t in (r.ids, r.amounts, r.mask))
            prop = _pad(samples.property_ids[rows][:, None], 1, batch_size)[:, 0]
            predicted[rows] = mixer(prop, ids, amounts, mask)[: len(rows)]
    return predicted.numpy().astype(np.float64)


def _pad(t: torch.Tensor, width: int, rows: int) -> torch.Tensor:
    """``t`` (B, T) cut to ``width`` columns and zero-padded to (rows, width)."""
    out = torch.zeros((rows, width), dtype=t.dtype)
    w = min(width, t.shape[1])
    out[: len(t), :w] = t[:, :w]
    return out


def mean_squared_error(mixer: Mixer, samples: Samples) -> float:
    if len(samples) == 0:
        return math.nan
    return float(np.mean((predict_samples(mixer, samples) - samples.targets.numpy()) ** 2))


TRAIN_THREADS = 1
"""Threads of a training run's steps. A batch of 128 recipes is too little work to split:
with two threads on 2 cores an epoch took 1.3 times as long (9,000 and 221,000 measurements,
measured), so the other threads stay free for parallel runs (``--jobs``, sweeps)."""


def train(
    mixer: Mixer,
    train_samples: Samples,
    validation_samples: Samples,
    config: TrainConfig,
    *,
    progress: bool = True,
    on_epoch: Callable[[int, dict], bool | None] | None = None,
) -> History:
    """Fit ``mixer`` in place and leave it holding its best validation weights, on at most
    :data:`TRAIN_THREADS` threads.

    ``on_epoch(epoch, record)`` is called after every epoch; returning True stops training (used
    for pruning in sweeps).
    """
    with at_most_threads(TRAIN_THREADS):
        return _train(mixer, train_samples, validation_samples, config, progress=progress,
                      on_epoch=on_epoch)


def _train(
    mixer: Mixer,
    train_samples: Samples,
    validation_samples: Samples,
    config: TrainConfig,
    *,
    progress: bool,
    on_epoch: Callable[[int, dict], bool | None] | None,
) -> History:
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(mixer.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    history = History()
    best_state = copy.deepcopy(mixer.state_dict())
    n = len(train_samples)
    lengths = train_samples.recipes.mask.sum(1)[train_samples.recipe_index]
    bar = tqdm(range(config.epochs), desc="training", unit="epoch", disable=not progress,
               leave=False)
    for epoch in bar:
        mixer.train()
        batches = length_bucketed_batches(lengths, config.batch_size, generator)
        total, finite = 0.0, True
        for step, rows in enumerate(batches):
            for group in optimiser.param_groups:
                group["lr"] = config.lr * learning_rate_factor(epoch + step / len(batches), config)
            prop, ids, amounts, mask, target = train_samples.batch(rows)
            loss = torch.nn.functional.mse_loss(mixer(prop, ids, amounts, mask), target)
            if not torch.isfinite(loss):
                finite = False
                break
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(mixer.parameters(), config.grad_clip)
            optimiser.step()
            total += loss.item() * len(rows)
        train_loss = total / n if finite else math.nan
        validation_loss = (
            mean_squared_error(mixer, validation_samples) if len(validation_samples) else train_loss
        ) if finite else math.nan
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "validation_loss": validation_loss,
            "lr": optimiser.param_groups[0]["lr"],
        }
        if config.smoothing > 1:  # median of this and the previous smoothing - 1 raw losses
            recent = [e["validation_loss"] for e in history.epochs[-(config.smoothing - 1):]]
            validation_loss = float(np.median([*recent, validation_loss]))
            record["smoothed_validation_loss"] = validation_loss
        history.epochs.append(record)
        if config.snapshot_every and epoch % config.snapshot_every == 0:
            history.snapshots.append(_snapshot(mixer, epoch))
        if not math.isfinite(validation_loss):
            history.stop_reason = f"non-finite loss at epoch {epoch}"
            break
        if validation_loss < history.best_validation_loss:
            history.best_validation_loss, history.best_epoch = validation_loss, epoch
            best_state = copy.deepcopy(mixer.state_dict())
        bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{validation_loss:.3f}")
        if epoch - history.best_epoch >= config.patience:
            history.stop_reason = f"no improvement for {config.patience} epochs"
            break
        if on_epoch is not None and on_epoch(epoch, record):
            history.stop_reason = f"stopped by callback at epoch {epoch}"
            break
    else:
        history.stop_reason = f"reached {config.epochs} epochs"
    mixer.load_state_dict(best_state)
    mixer.eval()
    return history


@torch.no_grad()
def _snapshot(mixer: Mixer, epoch: int) -> dict:
    return {
        "epoch": epoch,
        "ingredients": mixer.ingredient_table().detach().numpy().copy(),
        "properties": mixer.property_table().detach().numpy().copy(),
    }
