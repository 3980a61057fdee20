# Copyright (c) mmunirep contributors. All rights reserved.
"""What a GPU benchmark run measures: the full run for one H200-class GPU
and the toy run (``--tiny``) that checks the same code paths anywhere."""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import torch

from .upernet_plain import TINY_ADE20K, XL_ADE20K, UperNetSettings

#: Seconds each row group is expected to take on one H200 once the Triton
#: kernels are compiled (see :mod:`.gpu_warmup`), from what one H200
#: measured (2026-12-04, batch 128 at 224). E.g. T fwd+bwd bf16: ~258 ms
#: per step for mmunirep (plain ops) and for the authors' code, ~45 ms for
#: ConvNeXt-T, i.e. ~0.83 s per interleaved round, 9 calls (7 rounds, the
#: first call and the timed estimate) ~7.5 s, plus building the models,
#: cuDNN's first calls and Triton's autotuning (~40 autotuned shapes of
#: ~0.15 s): ~19 s. A group whose estimate exceeds the time left is skipped
#: without building anything.
H200_ESTIMATES_S = {
    't forward fp32 (TF32)': 9., 't forward bf16': 8.,
    't fwd+bwd fp32 (TF32)': 22., 't fwd+bwd bf16': 19.,
    's forward bf16': 9., 's fwd+bwd bf16': 23.,
    # XL built on the CPU (~400M parameters), ~0.5 s per train step
    'segmentation train': 18., 'segmentation inference': 10.,
    'micro': 4., 'profile': 20.,
    # inductor on UniRepLKNet-T: a guess until measured (the run reports
    # the compile time)
    'compile forward': 60., 'compile fwd+bwd': 120.,
}


@dataclass(frozen=True)
class BenchmarkSettings:
    """Sizes, counts and time estimates of a run.

    Args:
        tiny (bool): The toy run.
        arch (str): UniRepLKNet arch of the main rows.
        large_arch (str, optional): Arch of the larger rows (bf16 only).
        batch (int): Images per step.
        image_size (int): Input height and width.
        rounds (int): Interleaved timed rounds asked for.
        min_rounds (int): Fewest rounds worth timing.
        micro_shapes (tuple): (C, H, W) of the depthwise micro-benchmark.
        micro_batch (int): Its batch.
        micro_kernel (int): Its kernel size.
        micro_dtype (torch.dtype, optional): Its autocast dtype (None:
            float32).
        micro_calls (int): Calls per timed sample (short ops).
        goal_ms (float): The forward time the Triton kernel aims at, for
            the first shape of ``micro_shapes``, channels-last.
        segmentation (UperNetSettings): The headline segmentor.
        segmentation_batch (int): Its images per step.
        check_size (int): Input size of the whole-model checks.
        check_conv_shape (tuple): (N, C, H, W) of the Triton conv checks.
        estimates_s (dict): Expected seconds per row group (absent: 0).
        warmup_share (float): Most of the budget the Triton warm-up may
            take.
    """

    tiny: bool
    arch: str
    large_arch: Optional[str]
    batch: int
    image_size: int
    rounds: int
    min_rounds: int
    micro_shapes: Tuple[Tuple[int, int, int], ...]
    micro_batch: int
    micro_kernel: int
    micro_dtype: Optional[torch.dtype]
    micro_calls: int
    goal_ms: float
    segmentation: UperNetSettings
    segmentation_batch: int
    check_size: int
    check_conv_shape: Tuple[int, int, int, int]
    estimates_s: Dict[str, float] = field(default_factory=dict)
    warmup_share: float = 0.6

    def estimate_s(self, group: str) -> float:
        """Expected seconds of a row group (0 where unknown)."""
        return self.estimates_s.get(group, 0.)

    def summary(self) -> Dict[str, object]:
        """The settings a reader needs next to the numbers."""
        seg = self.segmentation
        return dict(
            batch=self.batch, image=f'{self.image_size}x{self.image_size}',
            archs='/'.join(a.upper() for a in (self.arch, self.large_arch)
                           if a),
            rounds=self.rounds,
            segmentation=f'{seg.arch.upper()} + UperNet '
            f'{seg.crop_size[0]}x{seg.crop_size[1]}, batch '
            f'{self.segmentation_batch}',
            tiny=self.tiny)


FULL = BenchmarkSettings(
    tiny=False, arch='t', large_arch='s', batch=128, image_size=224,
    rounds=7, min_rounds=3,
    micro_shapes=((80, 56, 56), (160, 28, 28), (320, 14, 14), (640, 7, 7)),
    micro_batch=128, micro_kernel=13, micro_dtype=torch.bfloat16,
    micro_calls=5, goal_ms=0.5, segmentation=XL_ADE20K,
    segmentation_batch=2, check_size=224, check_conv_shape=(2, 32, 20, 17),
    estimates_s=H200_ESTIMATES_S)

#: Same code paths at toy sizes: seconds on a CPU (the Triton rows and
#: checks only under the Triton interpreter, ``TRITON_INTERPRET=1``, which
#: has no bfloat16: float32 in the micro-benchmark; one Triton program per
#: call, the interpreter's cost).
TINY = BenchmarkSettings(
    tiny=True, arch='a', large_arch=None, batch=2, image_size=64,
    rounds=1, min_rounds=1, micro_shapes=((8, 5, 5), ),
    micro_batch=2, micro_kernel=13, micro_dtype=None, micro_calls=1,
    goal_ms=0.5, segmentation=TINY_ADE20K, segmentation_batch=2,
    check_size=64, check_conv_shape=(1, 16, 9, 7))
