# Copyright (c) mmunirep contributors. All rights reserved.
"""mmcv's compiled ops, against values computed by hand."""
import torch
from mmcv.ops import nms, roi_align


def test_nms_by_hand():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box0, box1) = 81 / (100 + 100 - 81) = 0.68
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.equal(dets[:, 4], torch.tensor([0.9, 0.7]))
    assert torch.equal(dets[:, :4], boxes[[0, 2]])
    _, keep = nms(boxes, scores, iou_threshold=0.7)
    assert keep.tolist() == [0, 1, 2]


def test_roi_align_by_hand():
    # f(x, y) = 4y + x is linear, so bilinear sampling is exact.
    feature = torch.arange(16.).reshape(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 2., 2.]])
    # aligned=True shifts the RoI by -0.5 px: (-0.5, -0.5, 1.5, 1.5); one
    # sample per 1x1 bin lands on the pixel centres 0, 1 (x) and 0, 1 (y).
    out = roi_align(feature, rois, (2, 2), 1.0, 1, 'avg', True)
    assert out.tolist() == [[[[0., 1.], [4., 5.]]]]
    # one 2x2 bin: the sample at the centre (0.5, 0.5) -> 4*0.5 + 0.5
    out = roi_align(feature, rois, (1, 1), 1.0, 1, 'avg', True)
    assert out.item() == 2.5
