# Copyright (c) mmunirep contributors. All rights reserved.
"""Independent formulations to check the fast implementations against.

Used by the tests and by ``tools/analysis/gpu_benchmark.py``, which checks
every fast path on the GPU it measures: the paper's branch-by-branch Dilated
Reparam Block, GRN written out with autograd, and random BatchNorm
statistics so that a wrong fusion formula cannot pass by accident.
"""
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmunirep.models.layers import GRN, DilatedReparamBlock


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


def reference_drb_forward(block, x):
    """The Dilated Reparam Block as the paper defines it: every branch a
    (dilated) depthwise conv + BN, outputs summed; no merging."""
    out = block.origin_bn(F.conv2d(x, block.lk_origin.weight,
                                   padding=block.kernel_size // 2,
                                   groups=x.shape[1]))
    for k, r in zip(block.branch_kernels, block.branch_dilations):
        conv = getattr(block, f'dil_conv_k{k}_{r}')
        bn = getattr(block, f'dil_bn_k{k}_{r}')
        out = out + bn(F.conv2d(x, conv.weight, padding=r * (k - 1) // 2,
                                dilation=r, groups=x.shape[1]))
    return out


@contextmanager
def branchwise_reference():
    """Run training-structure Dilated Reparam Blocks branch by branch (the
    reference the re-parameterized model is compared against)."""
    original = DilatedReparamBlock.forward

    def forward(self, x):
        if self.deploy:
            return original(self, x)
        return reference_drb_forward(self, x)

    DilatedReparamBlock.forward = forward
    try:
        yield
    finally:
        DilatedReparamBlock.forward = original


def reference_grn(grn, x: torch.Tensor) -> torch.Tensor:
    """GRN as ConvNeXt V2 writes it, through autograd, in float32 or wider:
    ``(gamma * Nx + 1) * x + beta`` with ``Nx = Gx / (mean_C(Gx) + 1e-6)``
    and ``Gx`` the L2 norm over (H, W) of the (N, H, W, C) input."""
    acc = x if x.dtype in (torch.float32, torch.float64) else x.float()
    gx = torch.linalg.vector_norm(acc, dim=(1, 2), keepdim=True)
    nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
    out = grn.gamma * acc * nx + acc
    if grn.use_bias:
        out = out + grn.beta
    return out.to(x.dtype)
