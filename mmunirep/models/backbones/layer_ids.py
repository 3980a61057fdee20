# Copyright (c) mmunirep contributors. All rights reserved.
"""Layer ids of UniRepLKNet's parameters for layer-wise learning-rate decay:
the authors' scheme and the stage-wise (ConvNeXt) one.

Both read names relative to the backbone (``stages.2.7.fc1.weight``); ids
run from 0 (the stem) to N + 1 (anything outside the stages: output norms,
necks, heads).
"""
from typing import Sequence


def natural_num_layers(depths: Sequence[int]) -> int:
    """N of the authors' scheme for a depth: stage 2 in groups of 3 blocks
    (ids 3, 4, ...), stage 3 gets N."""
    return 3 + (depths[2] + 2) // 3


def layer_wise_id(name: str, num_layers: int) -> int:
    """The authors' ids, with N = ``num_layers``: ``downsample_layers.0``
    -> 0, ``stages.0`` -> 1, ``downsample_layers.1`` and ``stages.1`` -> 2,
    ``downsample_layers.2`` -> 3, block b of ``stages.2`` -> 3 + b // 3,
    ``downsample_layers.3`` and ``stages.3`` -> N, anything else -> N + 1.

    Args:
        name (str): Parameter name relative to the backbone.
        num_layers (int): N.

    Returns:
        int: The layer id.
    """
    parts = name.split('.')
    if parts[0] == 'downsample_layers':
        return {0: 0, 1: 2, 2: 3}.get(int(parts[1]), num_layers)
    if parts[0] == 'stages':
        stage = int(parts[1])
        if stage < 2:
            return stage + 1
        return 3 + int(parts[2]) // 3 if stage == 2 else num_layers
    return num_layers + 1


def stage_wise_id(name: str, num_layers: int) -> int:
    """Stage-wise ids (the ConvNeXt convention): every downsampling layer
    -> 0, ``stages.i`` -> i + 1, anything else -> N + 1.

    Args:
        name (str): Parameter name relative to the backbone.
        num_layers (int): N.

    Returns:
        int: The layer id.
    """
    parts = name.split('.')
    if parts[0] == 'downsample_layers':
        return 0
    if parts[0] == 'stages':
        return int(parts[1]) + 1
    return num_layers + 1


#: ``decay_type`` -> its scheme.
LAYER_ID_SCHEMES = {'layer_wise': layer_wise_id, 'stage_wise': stage_wise_id}
