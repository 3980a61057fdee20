# Copyright (c) mmunirep contributors. All rights reserved.
from .depthwise_conv import DepthwiseConv2d
from .dilated_reparam_block import DRB_BRANCHES, DilatedReparamBlock
from .grn import GRN
from .kernel_choice import KERNEL_CHOICES, OpsCaller, impl_of, set_kernels
from .norms import LayerNorm2d
from .se import SEBlock

__all__ = [
    'DRB_BRANCHES', 'DepthwiseConv2d', 'DilatedReparamBlock', 'GRN',
    'KERNEL_CHOICES', 'LayerNorm2d', 'OpsCaller', 'SEBlock', 'impl_of',
    'set_kernels'
]
