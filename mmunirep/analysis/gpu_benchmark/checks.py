# Copyright (c) mmunirep contributors. All rights reserved.
"""Correctness on the benchmarked device, before anything is timed: the
layers and the whole model with ``kernels='auto'`` against the plain ops,
and the Triton depthwise conv against a float64 ``F.conv2d``.

Every check returns ``dict(check, max_rel_error, tolerance, passed)``;
Triton cases the device cannot run come back as reasons instead.
"""
import copy
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmunirep.models.layers import GRN, DilatedReparamBlock
from mmunirep.ops import depthwise_conv2d
from mmunirep.ops.cuda import triton_unsupported_reason
from mmunirep.testing import (randomize_for_fusion, reference_drb_forward,
                              reference_grn, relative_error)
from .models import build_ours, channels_last, plain_copy

#: Tolerances of the Triton conv (max error / max of the float64
#: reference) per input dtype: float32 accumulation, then the output (and
#: the input gradient) rounded to the dtype (2^-11 for fp16, 2^-8 for bf16).
TRITON_TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-3,
                    torch.bfloat16: 1e-2}
#: The Triton conv cases: (kernel size, dilation, with bias).
TRITON_CASES = ((13, 1, False), (3, 3, True))
#: Layout names -> memory formats.
LAYOUTS = {'channels-last': torch.channels_last,
           'channels-first': torch.contiguous_format}


def _check(name: str, error: float, tolerance: float) -> dict:
    return dict(check=name, max_rel_error=float(error), tolerance=tolerance,
                passed=bool(error <= tolerance))


def layer_checks(device: str) -> List[dict]:
    """GRN's backward and low-precision behaviour, and the merged Dilated
    Reparam Block, against their written-out formulas."""
    gen = torch.Generator().manual_seed(0)
    checks = []
    grn = randomize_for_fusion(GRN(64)).to(device)
    x = torch.randn(2, 9, 7, 64, generator=gen).to(device).requires_grad_()
    weight = torch.randn(2, 9, 7, 64, generator=gen).to(device)
    (grn(x) * weight).sum().backward()
    ours = [x.grad.clone(), grn.gamma.grad.clone(), grn.beta.grad.clone()]
    x.grad = None
    grn.zero_grad()
    (reference_grn(grn, x) * weight).sum().backward()
    reference = [x.grad, grn.gamma.grad, grn.beta.grad]
    checks.append(_check(
        'GRN forward + backward, float32',
        max(relative_error(a, b) for a, b in zip(ours, reference)), 1e-5))

    big = (torch.randn(2, 56, 56, 64, generator=gen) * 300).to(device)
    expected = reference_grn(grn, big).detach()
    for dtype in (torch.float16, torch.bfloat16):
        with torch.no_grad(), torch.autocast(torch.device(device).type,
                                             dtype=dtype):
            out = grn(big.to(dtype)).float()
        error = (relative_error(out, expected)
                 if torch.isfinite(out).all() else float('inf'))
        checks.append(_check(
            f'GRN in {str(dtype)[6:]} on large activations (finite, close '
            'to float32)', error, 2e-2))

    drb = randomize_for_fusion(DilatedReparamBlock(32, 13)).to(device).eval()
    x = torch.randn(2, 32, 20, 17, generator=gen).to(device)
    with torch.no_grad():
        checks.append(_check(
            'Dilated Reparam Block merged in eval mode',
            relative_error(drb(x), reference_drb_forward(drb, x)), 1e-5))
    return checks


def model_checks(device: str, arch: str, size: int) -> List[dict]:
    """The whole model, channels-last as it is timed, float32 (TF32 off
    is the caller's): 'auto' kernels against plain ops (inference and
    training gradients), and the deploy structure."""
    gen = torch.Generator().manual_seed(0)
    model = randomize_for_fusion(build_ours(arch, 'fwd+bwd')).eval()
    model = channels_last(model, device)
    plain = plain_copy(model)
    deployed = copy.deepcopy(model)
    deployed.switch_to_deploy()
    x = torch.randn(2, 3, size, size, generator=gen).to(device).contiguous(
        memory_format=torch.channels_last)
    with torch.no_grad():
        expected, auto, deploy = plain(x), model(x), deployed(x)
    checks = [
        _check(f"{arch.upper()} inference, kernels='auto' against plain ops",
               relative_error(auto[-1], expected[-1]), 1e-4),
        _check(f'{arch.upper()} deploy structure against the training '
               'structure', relative_error(deploy[-1], expected[-1]), 1e-4)
    ]
    grads = []
    for net in (plain, model):
        net = copy.deepcopy(net).train()
        net(x)[-1].square().mean().backward()
        grads.append(torch.cat([p.grad.flatten()
                                for p in net.parameters()]))
    # over all gradients together: single ones that nearly cancel (GRN's
    # beta) are only as exact as the precision allows
    checks.append(_check(
        f"{arch.upper()} training gradients, kernels='auto' against plain "
        'ops (norm of the error over all parameters)',
        ((grads[1] - grads[0]).norm() / grads[0].norm()).item(), 1e-4))
    return checks


def _triton_case(x: Tensor, weight: Tensor, bias, dilation: int) -> float:
    """Max relative error of the Triton conv's output and both gradients
    against float64 ``F.conv2d`` on the same (rounded) values."""
    x = x.detach().requires_grad_()
    weight = weight.detach().requires_grad_()
    out = depthwise_conv2d(x, weight, bias, dilation, impl='triton')
    grad = torch.randn_like(out)
    out.backward(grad)
    x64 = x.detach().double().requires_grad_()
    w64 = weight.detach().double().requires_grad_()
    k = weight.shape[-1]
    ref = F.conv2d(x64, w64, None if bias is None else bias.double(),
                   padding=dilation * (k - 1) // 2, dilation=dilation,
                   groups=x.shape[1])
    ref.backward(grad.double())
    pairs = ((out, ref), (x.grad, x64.grad), (weight.grad, w64.grad))
    return max(relative_error(a.double(), b) for a, b in pairs)


def triton_checks(device: str, shape: Tuple[int, int, int, int],
                  dtypes: Sequence[torch.dtype] = tuple(TRITON_TOLERANCE)
                  ) -> Tuple[List[dict], Dict[str, List[str]]]:
    """The Triton depthwise conv, forward and both gradients, for every
    case of :data:`TRITON_CASES`, dtype and layout.

    Args:
        device (str): The device checked.
        shape (tuple[int, int, int, int]): (N, C, H, W) of the input.
        dtypes (Sequence[torch.dtype]): Input dtypes. Defaults to float32,
            float16 and bfloat16.

    Returns:
        tuple[list[dict], dict[str, list[str]]]: The checks, and the cases
        not run grouped by the reason.
    """
    gen = torch.Generator().manual_seed(0)
    checks, not_run = [], {}
    for dtype in dtypes:
        for layout, memory_format in LAYOUTS.items():
            for k, dilation, with_bias in TRITON_CASES:
                name = (f'Triton depthwise {k}x{k}'
                        + (f' dilation {dilation}' if dilation > 1 else '')
                        + (' + bias' if with_bias else '')
                        + f', {str(dtype)[6:]}, {layout}: output and both '
                        'gradients against float64 F.conv2d')
                channels = shape[1]
                x = torch.randn(*shape, generator=gen).to(
                    device, dtype).contiguous(memory_format=memory_format)
                weight = (torch.randn(channels, 1, k, k, generator=gen) /
                          k).to(device)
                bias = (torch.randn(channels, generator=gen).to(device)
                        if with_bias else None)
                reason = triton_unsupported_reason(x, weight, dilation)
                if reason:
                    not_run.setdefault(reason, []).append(name)
                    continue
                checks.append(_check(
                    name, _triton_case(x, weight, bias, dilation),
                    TRITON_TOLERANCE[dtype]))
    return checks, not_run
