# Copyright (c) mmunirep contributors. All rights reserved.
"""A small model, data and injected faults for the long-run tests
(divergence, preemption, disk full).

Configs of those tests import this module (``custom_imports``), in the test
process or in the training processes they start. Faults come from the
model's arguments or, in a subprocess, from the environment:
``FAIL_FSYNC_AT=n`` makes the n-th fsync of a checkpoint's temporary file
fail with ENOSPC, as a full disk would. The library itself has no test
hooks.
"""
import errno
import os
import time

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.registry import DATASETS, METRICS, MODELS, OPTIM_WRAPPERS
from torch.utils.data import Dataset

from mmunirep.utils.atomic_io import TEMP_MARKER


class _InfGrad(torch.autograd.Function):
    """Identity forward; an infinite gradient backward."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * float('inf')


@MODELS.register_module(force=True)
class LongRunToyModel(BaseModel):
    """Two linear layers and two loss terms.

    Args:
        width (int): Input width (and hidden width). Defaults to 4.
        nan_loss_at (list[int]): Forward calls (1-based) whose ``loss_reg``
            is NaN.
        inf_grad_at (list[int]): Forward calls whose gradients are infinite
            (the losses stay finite).
        seconds (float): Sleep per training forward, so that a test can
            signal a run in its middle.
    """

    def __init__(self, width=4, nan_loss_at=(), inf_grad_at=(), seconds=0.):
        super().__init__()
        self.linear = torch.nn.Linear(width, width)
        self.out = torch.nn.Linear(width, 1)
        self.nan_loss_at = set(nan_loss_at)
        self.inf_grad_at = set(inf_grad_at)
        self.seconds = seconds
        self.calls = 0

    def forward(self, inputs, targets, mode='tensor'):
        x = torch.stack(inputs)
        outputs = self.out(self.linear(x[:, :self.linear.in_features]))
        if mode != 'loss':
            return outputs
        self.calls += 1
        time.sleep(self.seconds)
        if self.calls in self.inf_grad_at:
            outputs = _InfGrad.apply(outputs)
        loss_reg = 1e-3 * self.out.weight.pow(2).sum()
        if self.calls in self.nan_loss_at:
            loss_reg = loss_reg * float('nan')
        return dict(loss_mse=(outputs - torch.stack(targets)).pow(2).mean(),
                    loss_reg=loss_reg)


@DATASETS.register_module(force=True)
class LongRunToyDataset(Dataset):

    def __init__(self, width=4, length=64):
        self.width = width
        self.length = length

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(self.width, generator=gen),
                    targets=torch.randn(1, generator=gen))


@OPTIM_WRAPPERS.register_module(force=True)
class CpuAmpOptimWrapper(OptimWrapper):
    """MMEngine's AmpOptimWrapper on the CPU (which it refuses): dynamic loss
    scaling with ``torch.amp.GradScaler('cpu')``, steps with infinite
    gradients skipped."""

    def __init__(self, init_scale=2.**8, **kwargs):
        super().__init__(**kwargs)
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=init_scale)

    def backward(self, loss, **kwargs):
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs):
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()


def _fail_fsync_at(nth: int) -> None:
    """Make the ``nth`` fsync of a checkpoint's temporary file raise ENOSPC.
    """
    fsync, seen = os.fsync, [0]

    def full_disk_fsync(fd):
        name = os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))
        if f'.pth{TEMP_MARKER}' in name:
            seen[0] += 1
            if seen[0] == nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fsync(fd)

    os.fsync = full_disk_fsync


if os.environ.get('FAIL_FSYNC_AT'):
    _fail_fsync_at(int(os.environ['FAIL_FSYNC_AT']))


@METRICS.register_module(force=True)
class RisingScore(BaseMetric):
    """A better score at every evaluation, whatever the model, so that
    every validation makes a new "best" checkpoint."""
    calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        RisingScore.calls += 1
        return dict(score=float(RisingScore.calls))
