"""``models.modes.evaluation``: eval mode for a block, the previous mode always restored."""

import pytest
import torch

from models.modes import evaluation


@pytest.mark.parametrize("training", [True, False])
def test_previous_mode_is_restored(training):
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    module.train(training)
    with evaluation(module) as inside:
        assert inside is module and not module.training and not module[1].training
    assert module.training is training and module[1].training is training


def test_an_exception_inside_restores_the_mode():
    module = torch.nn.Dropout(0.5).train()
    with pytest.raises(RuntimeError, match="boom"), evaluation(module):
        assert not module.training
        raise RuntimeError("boom")
    assert module.training


def test_a_plain_callable_passes_through():
    def model(x):
        return x

    with evaluation(model) as inside:
        assert inside is model
