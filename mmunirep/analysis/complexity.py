# Copyright (c) mmunirep contributors. All rights reserved.
"""Parameters and FLOPs counted the way the UniRepLKNet paper counts them.

"FLOPs" are multiply-accumulates, measured with MMEngine's ``FlopAnalyzer``
on the model a config builds:

- segmentors (UperNet): backbone + decode head; the auxiliary FCN head is
  left out of both FLOPs and parameters (inference never runs it);
- two-stage detectors (Cascade Mask R-CNN): backbone + neck + RPN head, each
  box head on 1000 RoIs and each mask head on 100 RoIs. That is the mmdet 2.x
  convention the paper follows; mmdet 3.x's tensor-mode forward would run
  the mask heads on all 1000 proposals (about 2.9x the total for T);
- classifiers and anything else: the tensor-mode forward.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn


@dataclass
class Complexity:
    """Counted complexity of a model.

    Attributes:
        flops (int): Multiply-accumulates of one forward pass.
        params (int): Parameters of the counted parts.
        parts (dict): FLOPs per counted part, in counting order.
        notes (list[str]): How the numbers were counted.
    """
    flops: int
    params: int
    parts: Dict[str, int] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


class _Call(nn.Module):
    """Expose ``fn(*inputs)`` as a module owning ``owner``'s parameters."""

    def __init__(self, owner: nn.Module, fn: Callable) -> None:
        super().__init__()
        self.owner = owner
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)


def count_flops(owner: nn.Module, fn: Callable, inputs: Sequence) -> int:
    """Multiply-accumulates of ``fn(*inputs)``, which runs ``owner``, with
    MMEngine's stock counter (UniRepLKNet's fast paths step aside for the
    plain ops while traced, so no extra handle is needed)."""
    analyzer = FlopAnalyzer(_Call(owner, fn), tuple(inputs))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return int(analyzer.total())


def num_params(*modules: nn.Module) -> int:
    """Parameters of the given modules (each counted once)."""
    seen = {id(p): p for m in modules if m is not None
            for p in m.parameters()}
    return sum(p.numel() for p in seen.values())


def _roi_heads(head) -> List[nn.Module]:
    if head is None:
        return []
    return list(head) if isinstance(head, nn.ModuleList) else [head]


def _roi_feature_shape(extractor, default_size: int) -> tuple:
    extractors = _roi_heads(extractor)
    if not extractors:
        return (256, default_size, default_size)
    first = extractors[0]
    size = first.roi_layers[0].output_size
    size = size if isinstance(size, int) else size[0]
    return (first.out_channels, size, size)


def detector_complexity(model: nn.Module, images: torch.Tensor,
                        num_box_rois: int, num_mask_rois: int) -> Complexity:
    """Backbone + neck + RPN, box heads on ``num_box_rois`` RoIs and mask
    heads on ``num_mask_rois`` RoIs."""
    parts = {}
    parts['backbone+neck'] = count_flops(model, model.extract_feat, [images])
    feats = model.extract_feat(images)
    parts['rpn_head'] = count_flops(model.rpn_head, model.rpn_head,
                                    [tuple(feats)])
    roi_head = model.roi_head
    box_shape = _roi_feature_shape(roi_head.bbox_roi_extractor, 7)
    for i, head in enumerate(_roi_heads(roi_head.bbox_head)):
        rois = torch.zeros(num_box_rois, *box_shape)
        parts[f'bbox_head.{i}'] = count_flops(head, head, [rois])
    if getattr(roi_head, 'with_mask', False):
        mask_shape = _roi_feature_shape(roi_head.mask_roi_extractor, 14)
        for i, head in enumerate(_roi_heads(roi_head.mask_head)):
            rois = torch.zeros(num_mask_rois, *mask_shape)
            parts[f'mask_head.{i}'] = count_flops(head, head, [rois])
    notes = [f'box heads on {num_box_rois} RoIs, mask heads on '
             f'{num_mask_rois} RoIs (mmdet 2.x / paper convention)']
    return Complexity(sum(parts.values()), num_params(model), parts, notes)


def segmentor_complexity(model: nn.Module,
                         images: torch.Tensor) -> Complexity:
    """Backbone (+ neck) + decode head; no auxiliary head."""
    parts = {'backbone+neck': count_flops(model, model.extract_feat, [images])}
    feats = model.extract_feat(images)
    parts['decode_head'] = count_flops(model.decode_head,
                                       model.decode_head.forward, [feats])
    params = num_params(model.backbone, getattr(model, 'neck', None),
                        model.decode_head)
    notes = ['auxiliary head excluded (not run at inference)']
    return Complexity(sum(parts.values()), params, parts, notes)


@torch.no_grad()
def model_complexity(model: nn.Module,
                     input_shape: Sequence[int],
                     backbone_only: bool = False,
                     num_box_rois: int = 1000,
                     num_mask_rois: int = 100) -> Complexity:
    """Count a model built from a config, as the paper does.

    Args:
        model (nn.Module): A segmentor, detector, classifier or backbone,
            in eval mode on the CPU.
        input_shape (Sequence[int]): (H, W) of one 3-channel image.
        backbone_only (bool): Count ``model.backbone`` alone.
        num_box_rois (int): RoIs per box head (detectors). Defaults to 1000.
        num_mask_rois (int): RoIs per mask head (detectors). Defaults to 100.

    Returns:
        Complexity: FLOPs (MACs), parameters and the per-part breakdown.
    """
    images = torch.zeros(1, 3, *input_shape)
    if backbone_only:
        backbone = getattr(model, 'backbone', model)
        return Complexity(
            count_flops(backbone, backbone, [images]), num_params(backbone),
            notes=['backbone only'])
    if hasattr(model, 'decode_head'):
        return segmentor_complexity(model, images)
    if hasattr(model, 'roi_head') and hasattr(model, 'rpn_head'):
        return detector_complexity(model, images, num_box_rois,
                                   num_mask_rois)
    flops = count_flops(model, lambda x: model(x, mode='tensor'), [images])
    return Complexity(flops, num_params(model), notes=['tensor forward'])
