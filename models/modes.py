"""One way to run a module in eval mode: :func:`evaluation` switches it and always puts the
previous mode back, whether the block returns or raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

M = TypeVar("M")


@contextmanager
def evaluation(module: M) -> Iterator[M]:
    """Run the block with ``module`` in eval mode (no dropout), then restore its previous mode.

    Anything that is not a ``torch.nn.Module`` (a plain callable standing in for a model) is
    passed through untouched. Yields the module, so ``with evaluation(model.mixer) as mixer:``
    reads naturally.
    """
    train = getattr(module, "train", None)
    was_training = getattr(module, "training", None)
    if not callable(train) or not isinstance(was_training, bool):
        yield module
        return
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
