# Copyright (c) mmunirep contributors. All rights reserved.
"""UniRepLKNet's FFN (Linear, GELU, GRN, Linear) on the CPU, in groups of
samples.

GRN's statistics are per sample, so the FFN may run group by group. Large
blocks would be served by fresh ``mmap`` calls, whose pages glibc's kernel
faults in and zeroes on every call; groups whose hidden activation stays
under :data:`FFN_GROUP_BYTES` are reused from the heap instead.
"""
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .grn import cpu_grn, grn_linear
from .linear import cpu_linear, linear_act

#: The FFN runs on groups of samples whose hidden activation (D channels)
#: stays under this many bytes.
FFN_GROUP_BYTES = 8 << 20


def sample_groups(batch: int, bytes_per_sample: int) -> List[slice]:
    """Consecutive groups of samples of at most :data:`FFN_GROUP_BYTES`
    (at least one sample each).

    Args:
        batch (int): N.
        bytes_per_sample (int): Size of one sample's hidden activation.

    Returns:
        list[slice]: Slices covering ``range(batch)`` in order.
    """
    group = max(1, FFN_GROUP_BYTES // max(bytes_per_sample, 1))
    return [slice(i, i + group) for i in range(0, batch, group)]


def cpu_grn_ffn(x: Tensor, weight1: Tensor, bias1: Optional[Tensor],
                gamma: Tensor, beta: Optional[Tensor], weight2: Tensor,
                bias2: Optional[Tensor]) -> Tensor:
    """The FFN of CPU tensors, group by group: in training through oneDNN's
    matmul where faster and GRN's hand-written backward; at inference with
    GELU fused into the first Linear and GRN into the second.

    Args:
        x (Tensor): (N, C, H, W); channels-last memory saves a copy.
        weight1 (Tensor): (D, C); ``bias1`` (D,) or None.
        gamma (Tensor): GRN's (1, 1, 1, D); ``beta`` the same or None.
        weight2 (Tensor): (C, D); ``bias2`` (C,) or None.

    Returns:
        Tensor: (N, C, H, W), a channels-last view of the result.
    """
    channels_last = x.permute(0, 2, 3, 1)
    ffn: Callable[[Tensor], Tensor]
    if torch.is_grad_enabled():
        def ffn(y):
            hidden = cpu_grn(F.gelu(cpu_linear(y, weight1, bias1)), gamma,
                             beta)
            return cpu_linear(hidden, weight2, bias2)
    else:
        def ffn(y):
            return grn_linear(linear_act(y, weight1, bias1, gelu=True), gamma,
                              beta, weight2, bias2)
    per_sample = (channels_last[0].numel() * weight1.shape[0] //
                  weight1.shape[1] * x.element_size())
    outs = [ffn(channels_last[group])
            for group in sample_groups(x.shape[0], per_sample)]
    out = outs[0] if len(outs) == 1 else torch.cat(outs)
    return out.permute(0, 3, 1, 2)
