# Copyright (c) mmunirep contributors. All rights reserved.
"""StrictCheckpointLoadHook: strict when a Runner tests or validates, left
to MMEngine's partial load while it trains (fine-tuning), unless asked."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import BaseLoop
from torch import nn

from mmunirep.engine import StrictCheckpointLoadHook
from mmunirep.utils import CheckpointError


class TrainLoop(BaseLoop):

    def run(self):
        pass


def runner(training):
    model = nn.Linear(4, 2)
    fake = SimpleNamespace(model=model, cfg=Config(dict(load_from='x.pth')),
                           _train_loop=dict(type='IterBasedTrainLoop'))
    if training:
        fake._train_loop = TrainLoop(fake, dataloader=[])
    return fake


def partial_checkpoint():
    # the weight of another head: 3 classes instead of 2, no bias
    return {'meta': {}, 'state_dict': {'weight': torch.zeros(3, 4)}}


def test_a_test_run_refuses_a_checkpoint_that_does_not_fit():
    with pytest.raises(CheckpointError, match='weight'):
        StrictCheckpointLoadHook().after_load_checkpoint(
            runner(training=False), partial_checkpoint())


def test_fitting_weights_pass_unchanged():
    fake = runner(training=False)
    state = {k: v.clone() for k, v in fake.model.state_dict().items()}
    checkpoint = {'state_dict': dict(state)}
    StrictCheckpointLoadHook().after_load_checkpoint(fake, checkpoint)
    assert set(checkpoint['state_dict']) == set(state)
    for key, value in state.items():
        assert torch.equal(checkpoint['state_dict'][key], value)


def test_training_keeps_the_partial_load_unless_asked():
    checkpoint = partial_checkpoint()
    StrictCheckpointLoadHook().after_load_checkpoint(runner(training=True),
                                                     checkpoint)
    # untouched: MMEngine then loads what fits and warns about the rest
    assert list(checkpoint['state_dict']) == ['weight']
    assert torch.equal(checkpoint['state_dict']['weight'], torch.zeros(3, 4))
    with pytest.raises(CheckpointError):
        StrictCheckpointLoadHook(during_training=True).after_load_checkpoint(
            runner(training=True), partial_checkpoint())
