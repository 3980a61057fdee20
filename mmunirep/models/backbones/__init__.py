# Copyright (c) mmunirep contributors. All rights reserved.
from .arch_spec import ArchSpec, default_kernel_sizes
from .unireplknet import UniRepLKNet
from .unireplknet_block import UniRepLKNetBlock

__all__ = [
    'ArchSpec', 'UniRepLKNet', 'UniRepLKNetBlock', 'default_kernel_sizes'
]
