# Copyright (c) mmunirep contributors. All rights reserved.
"""The UniRepLKNet block and its re-parameterization."""
from contextlib import contextmanager, nullcontext

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmunirep.ops import fuse_bn, grn_ffn
from ..layers import (GRN, DepthwiseConv2d, DilatedReparamBlock, OpsCaller,
                      SEBlock)

#: Depthwise kernel sizes a block accepts: 3 and 5 are plain depthwise convs,
#: 7 and larger are Dilated Reparam Blocks.
BLOCK_KERNEL_SIZES = (3, 5, 7, 9, 11, 13, 15, 17)

#: The FFN's parts -> their keys in the authors' checkpoints, where they sit
#: in Sequentials (``pwconv1 = [to channels-last, Linear]``,
#: ``act = [GELU, GRN]``, ``pwconv2 = [Linear, to channels-first, BN]``).
AUTHORS_KEYS = {
    'fc1.': 'pwconv1.1.',
    'grn.': 'act.1.',
    'fc2.': 'pwconv2.0.',
    'bn.': 'pwconv2.2.',
}


def _rename_keys(state_dict: dict, prefix: str, renames: dict) -> None:
    """Rename, in place and in order, the keys of ``state_dict`` under
    ``prefix`` that start with a key of ``renames``."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        local = key[len(prefix):]
        for old, new in renames.items():
            if local.startswith(old):
                state_dict[prefix + new + local[len(old):]] = \
                    state_dict.pop(key)
                break


@contextmanager
def keep_bn_running_stats(module: nn.Module):
    """Restore every BatchNorm buffer of ``module`` on exit.

    Gradient checkpointing runs the forward pass twice; without this the
    training-mode BatchNorms would update their running statistics twice.
    """
    saved = [(buf, buf.clone()) for m in module.modules()
             if isinstance(m, _BatchNorm) for buf in m.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


class UniRepLKNetBlock(nn.Module, OpsCaller):
    """UniRepLKNet block: large-kernel token mixer, SE, GRN FFN, layer scale.

    Training structure, on (N, C, H, W) input ``x``::

        y = se(norm(dwconv(x)))            # dwconv: DW conv or Dilated
                                           # Reparam Block; norm: BN
        y = fc2(grn(gelu(fc1(y))))         # per position (channels-last)
        out = x + drop_path(gamma * bn(y)) # gamma: layer scale

    Inference structure (``deploy=True`` or after :meth:`switch_to_deploy`):
    ``dwconv`` is one biased KxK DW conv, ``norm`` and ``bn`` are identities,
    GRN has no ``beta``, ``fc2`` has ``bn`` and the layer scale folded in,
    and ``gamma`` is gone.

    State dicts use the authors' keys (see :data:`AUTHORS_KEYS`), so their
    checkpoints load and ours load into their code.

    Args:
        dim (int): C.
        kernel_size (int): Depthwise kernel size, one of
            :data:`BLOCK_KERNEL_SIZES`.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        layer_scale_init_value (float): Initial layer scale; 0 or None
            disables it. Defaults to 1e-6.
        deploy (bool): Build the inference structure. Defaults to False.
        with_cp (bool): Gradient checkpointing of the residual branch.
            Defaults to False.
        norm_cfg (dict): BatchNorm config. Defaults to ``dict(type='BN')``.
        ffn_ratio (int): FFN expansion. Defaults to 4.
        impl (str): The ops implementation of every part (see
            :func:`~mmunirep.models.layers.set_kernels`). Defaults to 'auto'.
    """

    def __init__(self,
                 dim: int,
                 kernel_size: int,
                 drop_path: float = 0.,
                 layer_scale_init_value: float = 1e-6,
                 deploy: bool = False,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 ffn_ratio: int = 4,
                 impl: str = 'auto') -> None:
        super().__init__()
        if kernel_size not in BLOCK_KERNEL_SIZES:
            raise ValueError(f'UniRepLKNetBlock kernel_size must be one of '
                             f'{BLOCK_KERNEL_SIZES}, got {kernel_size}')
        self.deploy = deploy
        self.with_cp = with_cp
        self.impl = impl
        if deploy or kernel_size < 7:
            self.dwconv = DepthwiseConv2d(dim, kernel_size, bias=deploy,
                                          impl=impl)
        else:
            self.dwconv = DilatedReparamBlock(dim, kernel_size,
                                              norm_cfg=norm_cfg, impl=impl)
        self.norm = nn.Identity() if deploy else build_norm_layer(
            norm_cfg, dim)[1]
        self.se = SEBlock(dim, dim // 4, impl=impl)
        ffn_dim = int(ffn_ratio * dim)
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.grn = GRN(ffn_dim, use_bias=not deploy, impl=impl)
        self.fc2 = nn.Linear(ffn_dim, dim, bias=deploy)
        self.bn = nn.Identity() if deploy else build_norm_layer(norm_cfg,
                                                                dim)[1]
        if not deploy and layer_scale_init_value:
            self.gamma = nn.Parameter(
                layer_scale_init_value * torch.ones(dim))
        else:
            self.gamma = None
        self.drop_path = DropPath(drop_path) if drop_path > 0 \
            else nn.Identity()
        self._register_state_dict_hook(self._to_authors_keys)
        self._register_load_state_dict_pre_hook(self._from_authors_keys)

    @staticmethod
    def _to_authors_keys(module, state_dict, prefix, local_metadata) -> None:
        _rename_keys(state_dict, prefix, AUTHORS_KEYS)

    @staticmethod
    def _from_authors_keys(state_dict, prefix, *args) -> None:
        _rename_keys(state_dict, prefix,
                     {new: old for old, new in AUTHORS_KEYS.items()})

    def residual(self, x: Tensor) -> Tensor:
        """The residual branch: (N, C, H, W) -> (N, C, H, W)."""
        y = self.se(self.norm(self.dwconv(x)))
        y = self.bn(grn_ffn(y, self.fc1.weight, self.fc1.bias, self.grn.gamma,
                            self.grn.beta, self.fc2.weight, self.fc2.bias,
                            self.impl))
        if self.gamma is not None:
            y = y * self.gamma.view(1, -1, 1, 1)
        return self.drop_path(y)

    def _residual_add(self, x: Tensor) -> Tensor:
        return x + self.residual(x)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        if self.with_cp and torch.is_grad_enabled():
            return cp.checkpoint(
                self._residual_add, x, use_reentrant=False,
                context_fn=lambda: (nullcontext(),
                                    keep_bn_running_stats(self)))
        return self._residual_add(x)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Convert to the inference structure in place (idempotent).

        Keeps device, dtype, train/eval mode and the ops implementation; the
        removed BNs, branches, GRN beta and layer scale are freed.
        """
        if self.deploy:
            return
        if isinstance(self.dwconv, DilatedReparamBlock):
            kernel, bias = self.dwconv.get_equivalent_kernel_bias()
        else:
            kernel, bias = self.dwconv.weight, None
        self.dwconv = DepthwiseConv2d.from_kernel(
            *fuse_bn(kernel, self.norm, bias), impl=self.impl)
        self.norm = nn.Identity()

        fc2_bias = self.fc2.weight @ self.grn.remove_bias()
        if self.fc2.bias is not None:
            fc2_bias = fc2_bias + self.fc2.bias
        weight, bias = fuse_bn(self.fc2.weight, self.bn, fc2_bias)
        if self.gamma is not None:
            weight = weight * self.gamma.view(-1, 1)
            bias = bias * self.gamma
        fc2 = nn.Linear(self.fc2.in_features, self.fc2.out_features,
                        device=weight.device, dtype=weight.dtype)
        fc2.weight.copy_(weight)
        fc2.bias.copy_(bias)
        self.fc2 = fc2
        self.bn = nn.Identity()
        self.gamma = None
        self.deploy = True
        self.train(self.training)
