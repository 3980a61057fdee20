# Copyright (c) mmunirep contributors. All rights reserved.
"""UniRepLKNet's sizes and the checks of the backbone's arguments."""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

from mmcv.cnn import build_norm_layer

from .unireplknet_block import BLOCK_KERNEL_SIZES

NUM_STAGES = 4

#: Blocks and channels per stage of each size (the paper's table).
ARCH_SETTINGS: Dict[str, Dict[str, List[int]]] = {
    'a': dict(depths=[2, 2, 6, 2], dims=[40, 80, 160, 320]),
    'f': dict(depths=[2, 2, 6, 2], dims=[48, 96, 192, 384]),
    'p': dict(depths=[2, 2, 6, 2], dims=[64, 128, 256, 512]),
    'n': dict(depths=[2, 2, 8, 2], dims=[80, 160, 320, 640]),
    't': dict(depths=[3, 3, 18, 3], dims=[80, 160, 320, 640]),
    's': dict(depths=[3, 3, 27, 3], dims=[96, 192, 384, 768]),
    'b': dict(depths=[3, 3, 27, 3], dims=[128, 256, 512, 1024]),
    'l': dict(depths=[3, 3, 27, 3], dims=[192, 384, 768, 1536]),
    'xl': dict(depths=[3, 3, 27, 3], dims=[256, 512, 1024, 2048]),
}
#: The authors' long names of the sizes.
ARCH_ALIASES = {
    'atto': 'a', 'femto': 'f', 'pico': 'p', 'nano': 'n', 'tiny': 't',
    'small': 's', 'base': 'b', 'large': 'l', 'xlarge': 'xl'
}

KernelSizes = Tuple[Tuple[int, ...], ...]


def default_kernel_sizes(depths: Sequence[int]) -> KernelSizes:
    """The authors' per-block kernel sizes for a given depth configuration.

    Stage 0 uses 3x3 everywhere, stages 1 and 3 use 13x13. Stage 2 uses 13
    everywhere when it has at most 8 blocks (A, F, P, N), alternates
    (13, 3) below 27 blocks (T: 18) and repeats (13, 3, 3) from 27 on
    (S, B, L, XL).

    Args:
        depths (Sequence[int]): Blocks per stage, length 4.

    Returns:
        tuple[tuple[int, ...], ...]: One kernel size per block and stage.
    """
    depth2 = depths[2]
    if depth2 <= 8:
        pattern = (13, )
    elif depth2 < 27:
        pattern = (13, 3)
    else:
        pattern = (13, 3, 3)
    stage2 = tuple(pattern[i % len(pattern)] for i in range(depth2))
    return ((3, ) * depths[0], (13, ) * depths[1], stage2, (13, ) * depths[3])


def _are_stage_ints(values, minimum: int) -> bool:
    """Whether ``values`` is one int >= ``minimum`` per stage."""
    return isinstance(values, (list, tuple)) \
        and len(values) == NUM_STAGES \
        and all(isinstance(v, int) and not isinstance(v, bool)
                and v >= minimum for v in values)


@dataclass(frozen=True)
class ArchSpec:
    """A checked UniRepLKNet size: blocks, channels and kernel size per
    stage.

    Attributes:
        depths (tuple[int]): Blocks per stage.
        dims (tuple[int]): Channels per stage.
        kernel_sizes (tuple[tuple[int]]): Depthwise kernel size per block.
    """
    depths: Tuple[int, ...]
    dims: Tuple[int, ...]
    kernel_sizes: KernelSizes

    @classmethod
    def parse(cls,
              arch: Union[str, dict],
              kernel_sizes: Sequence[Sequence[int]] = None) -> 'ArchSpec':
        """The spec of ``arch`` (a size name or a dict), with
        ``kernel_sizes`` overriding the arch's or the default ones.

        Raises:
            ValueError, TypeError: Naming what is wrong and what is allowed.
        """
        depths, dims, arch_kernels = cls._depths_dims(arch)
        kernels = kernel_sizes or arch_kernels or default_kernel_sizes(depths)
        return cls(tuple(depths), tuple(dims),
                   cls._checked_kernel_sizes(kernels, depths))

    @staticmethod
    def _depths_dims(arch):
        if isinstance(arch, str):
            key = ARCH_ALIASES.get(arch.lower(), arch.lower())
            if key not in ARCH_SETTINGS:
                raise ValueError(
                    f'Unknown UniRepLKNet arch {arch!r}; choose one of '
                    f'{sorted(ARCH_SETTINGS)} (or their long names '
                    f'{sorted(ARCH_ALIASES)}), or pass a dict with '
                    "'depths' and 'dims'")
            setting = ARCH_SETTINGS[key]
            return setting['depths'], setting['dims'], None
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch)}')
        missing = {'depths', 'dims'} - set(arch)
        unknown = set(arch) - {'depths', 'dims', 'kernel_sizes'}
        if missing or unknown:
            raise ValueError(
                "A custom arch dict needs the keys 'depths' and 'dims' (4 "
                "ints each) and may have 'kernel_sizes'; "
                f'missing {sorted(missing)}, unknown {sorted(unknown)}')
        depths, dims = arch['depths'], arch['dims']
        if not (_are_stage_ints(depths, 1) and _are_stage_ints(dims, 4)):
            raise ValueError(
                f'arch depths and dims must be lists of {NUM_STAGES} ints '
                'each (blocks per stage >= 1, channels per stage >= 4), e.g. '
                "dict(depths=[2, 2, 6, 2], dims=[40, 80, 160, 320]); got "
                f'depths={depths!r}, dims={dims!r}')
        return depths, dims, arch.get('kernel_sizes')

    @staticmethod
    def _checked_kernel_sizes(kernel_sizes, depths) -> KernelSizes:
        kernel_sizes = tuple(tuple(int(k) for k in ks) for ks in kernel_sizes)
        if [len(ks) for ks in kernel_sizes] != list(depths):
            raise ValueError(
                f'kernel_sizes must give one size per block, i.e. stages of '
                f'lengths {list(depths)}, got lengths '
                f'{[len(ks) for ks in kernel_sizes]}')
        bad = sorted({k for ks in kernel_sizes for k in ks} -
                     set(BLOCK_KERNEL_SIZES))
        if bad:
            raise ValueError(f'unsupported kernel sizes {bad}; each must be '
                             f'one of {BLOCK_KERNEL_SIZES}')
        return kernel_sizes


def check_scalars(in_channels: int, drop_path_rate: float,
                  frozen_stages: int) -> None:
    """Check the backbone's scalar arguments.

    Raises:
        ValueError: Naming the argument and its allowed values.
    """
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(
            f'in_channels must be a positive int (3 for RGB images), got '
            f'{in_channels!r}')
    if not 0 <= drop_path_rate < 1:
        raise ValueError(
            'drop_path_rate must be in [0, 1) (the stochastic depth of '
            f'the last block), got {drop_path_rate!r}')
    if not -1 <= frozen_stages < NUM_STAGES:
        raise ValueError(f'frozen_stages must be in [-1, {NUM_STAGES - 1}], '
                         f'got {frozen_stages}')


def check_norm_cfg(norm_cfg: dict) -> None:
    """Check that ``norm_cfg`` builds a BatchNorm (which re-parameterization
    fuses).

    Raises:
        ValueError: Any other norm.
    """
    if not hasattr(build_norm_layer(norm_cfg, 4)[1], 'running_var'):
        raise ValueError(
            "norm_cfg must be a BatchNorm (dict(type='BN') or "
            f"dict(type='SyncBN')) so it can be fused, got {norm_cfg}")


def checked_out_indices(out_indices: Union[int, Sequence[int]]
                        ) -> Tuple[int, ...]:
    """``out_indices`` as sorted stage indices in 0..3.

    Raises:
        ValueError: Out of range, empty or repeated.
    """
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    indices = []
    for index in out_indices:
        if not -NUM_STAGES <= index < NUM_STAGES:
            raise ValueError(f'out_indices must be in [0, {NUM_STAGES - 1}] '
                             f'(or negative), got {tuple(out_indices)}')
        indices.append(index % NUM_STAGES)
    if not indices or len(set(indices)) != len(indices):
        raise ValueError('out_indices must be non-empty and without '
                         f'repeats, got {tuple(out_indices)}')
    return tuple(sorted(indices))
