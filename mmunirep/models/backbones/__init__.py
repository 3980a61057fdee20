# Copyright (c) mmunirep contributors. All rights reserved.
from .unireplknet import UniRepLKNet, default_kernel_sizes
from .unireplknet_block import UniRepLKNetBlock

__all__ = ['UniRepLKNet', 'UniRepLKNetBlock', 'default_kernel_sizes']
