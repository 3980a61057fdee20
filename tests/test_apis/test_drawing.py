# Copyright (c) mmunirep contributors. All rights reserved.
"""Predictions drawn on enlarged images (readable demo figures)."""
import mmcv
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmunirep.apis import draw_prediction, load_config
from mmunirep.apis.inference import upscale_prediction

DET = 'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py'


def detection(height=128, width=160):
    masks = torch.zeros(1, height, width, dtype=torch.bool)
    masks[0, 40:80, 60:100] = True
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[60., 40., 100., 80.]]),
        scores=torch.tensor([0.9]), labels=torch.tensor([1]), masks=masks)
    return sample


def test_upscale_scales_boxes_and_masks_together():
    image = np.zeros((128, 160, 3), np.uint8)
    sample = detection()
    big, scaled = upscale_prediction(image, sample, 512)
    assert big.shape == (410, 512, 3)
    # x by 512 / 160, y by 410 / 128; the mask follows its box
    box = scaled.pred_instances.bboxes[0]
    assert torch.allclose(
        box, torch.tensor([192., 128.125, 320., 256.25]))
    mask = scaled.pred_instances.masks[0]
    rows, cols = mask.nonzero(as_tuple=True)
    assert abs(rows.min() - box[1]) <= 2 and abs(rows.max() + 1 - box[3]) <= 2
    assert abs(cols.min() - box[0]) <= 2 and abs(cols.max() + 1 - box[2]) <= 2
    # the original is untouched, and wide images stay as they are
    assert sample.pred_instances.masks.shape == (1, 128, 160)
    assert upscale_prediction(big, scaled, 512)[1] is scaled


def test_upscale_segmentation_map_with_nearest_labels():
    labels = torch.randint(0, 5, (1, 30, 40))
    sample = SegDataSample(pred_sem_seg=PixelData(data=labels))
    _, scaled = upscale_prediction(np.zeros((30, 40, 3), np.uint8), sample,
                                   80)
    assert torch.equal(scaled.pred_sem_seg.data,
                       labels.repeat_interleave(2, 1).repeat_interleave(2, 2))


def test_drawn_detection_is_enlarged(tmp_path):
    image = tmp_path / 'image.jpg'
    mmcv.imwrite(np.full((128, 160, 3), 128, np.uint8), str(image))
    out = tmp_path / 'drawn.png'
    cfg = load_config(DET)
    meta = dict(classes=('circle', 'triangle', 'rectangle', 'star'),
                palette=[(220, 50, 50), (50, 180, 60), (50, 100, 230),
                         (240, 200, 30)])
    draw_prediction(cfg, meta, str(image), detection(), str(out),
                    min_width=512)
    drawn = mmcv.imread(str(out))
    assert drawn.shape == (410, 512, 3)
    # the box is drawn where the scaled box is, the border far from it
    assert np.abs(drawn[200, 192].astype(int) - 128).max() > 30
    assert np.abs(drawn[20, 20].astype(int) - 128).max() < 10
