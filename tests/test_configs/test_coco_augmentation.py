# Copyright (c) mmunirep contributors. All rights reserved.
"""The COCO recipe's DETR-style augmentation yields valid boxes and masks."""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

from mmunirep.apis import load_config

THREE_OBJECTS = [[10, 20, 60, 90], [100, 40, 230, 170], [150, 5, 200, 30]]
CORNER_OBJECT = [[0, 0, 12, 10]]  # crops often cut it away


def annotated_image(box_list):
    """A 240x180 image with hand-placed rectangular instances."""
    height, width = 180, 240
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3),
                                              dtype=np.uint8)
    boxes = np.array(box_list, dtype=np.float32)
    masks = np.zeros((len(boxes), height, width), dtype=np.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes.astype(int)):
        mask[y1:y2, x1:x2] = 1
    return image, boxes, masks


def recipe_pipeline(box_list):
    """The recipe's train pipeline on :func:`annotated_image` (file loading
    and packing replaced)."""
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks

    def load_annotated(results):
        image, boxes, masks = annotated_image(box_list)
        results.update(
            img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2],
            gt_bboxes=HorizontalBoxes(boxes),
            gt_bboxes_labels=np.arange(len(boxes)),
            gt_ignore_flags=np.zeros(len(boxes), dtype=bool),
            gt_masks=BitmapMasks(masks, *image.shape[:2]))
        return results

    cfg = load_config('configs/cascade_mask_rcnn_unireplknet_t_coco.py')
    init_default_scope('mmdet')
    steps = cfg.train_pipeline
    assert [s['type'] for s in steps[:2]] == ['LoadImageFromFile',
                                              'LoadAnnotations']
    assert steps[-1]['type'] == 'PackDetInputs'
    return Compose([load_annotated] + list(steps[2:-1]))


@pytest.mark.parametrize('box_list', [THREE_OBJECTS, CORNER_OBJECT])
def test_boxes_and_masks_stay_valid_over_many_seeds(box_list):
    import random

    import torch
    pipeline = recipe_pipeline(box_list)
    shapes, empty = set(), 0
    for seed in range(120):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        out = pipeline({})
        height, width = out['img'].shape[:2]
        shapes.add(min(height, width))
        boxes = out['gt_bboxes'].tensor.numpy()
        masks = out['gt_masks']
        assert len(boxes) == len(masks) == len(out['gt_bboxes_labels'])
        assert (masks.height, masks.width) == (height, width)
        if len(boxes) == 0:
            empty += 1
            continue
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
        assert (boxes[:, 2] > boxes[:, 0]).all()
        assert (boxes[:, 3] > boxes[:, 1]).all()
        # masks are resized with nearest neighbours, boxes exactly: allow
        # the rounding of two successive resizes
        tol = max(2.0, 0.01 * max(height, width))
        for box, mask in zip(boxes, masks.masks):
            ys, xs = np.nonzero(mask)
            assert len(xs), 'an instance kept its box but lost its mask'
            assert abs(xs.min() - box[0]) <= tol
            assert abs(xs.max() + 1 - box[2]) <= tol
            assert abs(ys.min() - box[1]) <= tol
            assert abs(ys.max() + 1 - box[3]) <= tol
    # short sides 480..800 from both branches
    assert min(shapes) >= 480 and max(shapes) <= 800 and len(shapes) > 5
    if box_list is CORNER_OBJECT:
        # the crop branch removed every object in some draws, without crash
        assert empty > 0
