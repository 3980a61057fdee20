# Copyright (c) mmunirep contributors. All rights reserved.
"""Shared helpers for the tests."""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmunirep.models.layers import GRN


@torch.no_grad()
def randomize_for_fusion(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every fusable statistic and parameter a non-trivial value.

    With default BatchNorm statistics (mean 0, var 1, weight 1, bias 0), zero
    GRN parameters and a 1e-6 layer scale, a wrong fusion formula would still
    match; random values make the equivalence tests meaningful.
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(t, low, high):
        t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float64)
                .to(t.dtype) * (high - low) + low)

    for module in model.modules():
        if isinstance(module, _BatchNorm):
            uniform(module.running_mean, -0.5, 0.5)
            uniform(module.running_var, 0.5, 2.0)
            uniform(module.weight, 0.5, 1.5)
            uniform(module.bias, -0.5, 0.5)
        elif isinstance(module, GRN):
            uniform(module.gamma, -0.5, 0.5)
            if module.use_bias:
                uniform(module.beta, -0.5, 0.5)
    for name, param in model.named_parameters():
        if name == 'gamma' or name.endswith('.gamma') and param.dim() == 1:
            uniform(param, 0.2, 1.0)
    return model


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """max |out - ref| / max |ref|."""
    return ((out - ref).abs().max() / ref.abs().max()).item()


#: Tolerances of the deploy-equivalence tests, per dtype.
TOLERANCE = {torch.float64: 1e-5, torch.float32: 1e-4}
