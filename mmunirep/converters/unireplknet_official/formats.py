# Copyright (c) mmunirep contributors. All rights reserved.
"""The kinds of files the authors released, and where each one goes."""
from typing import Dict

import torch

StateDict = Dict[str, torch.Tensor]

FORMATS = {
    'imagenet': 'ImageNet classifier (timm-style state dict)',
    'mmdet2': 'mmdet 2.x Cascade Mask R-CNN',
    'mmseg0': 'mmseg 0.x UperNet',
}
#: The top-level modules of the authors' dense-prediction models.
MODULES = {
    'mmdet2': ('backbone', 'neck', 'rpn_head', 'roi_head'),
    'mmseg0': ('backbone', 'decode_head', 'auxiliary_head'),
}
#: The downstream scope (config ``default_scope``) each format converts to.
SCOPES = {'imagenet': 'mmpretrain', 'mmdet2': 'mmdet', 'mmseg0': 'mmseg'}
#: Our configs for each format.
CONFIG_NAMES = {
    'imagenet': ('configs/unireplknet_{arch}_in1k.py',
                 'configs/unireplknet_{arch}_in22k_to_in1k_384.py'),
    'mmdet2': ('configs/cascade_mask_rcnn_unireplknet_{arch}_coco.py',
               'configs/cascade_mask_rcnn_unireplknet_{arch}_in22k_coco.py'),
    'mmseg0': ('configs/upernet_unireplknet_{arch}_ade20k.py',
               'configs/upernet_unireplknet_{arch}_in22k_ade20k.py',
               'configs/upernet_unireplknet_{arch}_in22k_640_ade20k.py'),
}
