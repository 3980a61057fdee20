# Copyright (c) mmunirep contributors. All rights reserved.
from .dilated_reparam_block import DRB_BRANCHES, DilatedReparamBlock
from .grn import GRN, grn_linear
from .kernel_ops import dilated_to_dense, fuse_bn, pad_to_size
from .norms import LayerNorm2d
from .onednn_linear import FFNLinear, linear_act, uses_onednn
from .se import SEBlock

__all__ = [
    'DRB_BRANCHES', 'DilatedReparamBlock', 'FFNLinear', 'GRN', 'grn_linear',
    'LayerNorm2d', 'SEBlock', 'dilated_to_dense', 'fuse_bn', 'linear_act',
    'pad_to_size', 'uses_onednn'
]
