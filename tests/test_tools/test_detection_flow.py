# Copyright (c) mmunirep contributors. All rights reserved.
"""Cascade Mask R-CNN + UniRepLKNet end to end on the CPU, through the
tools: EMA, layer decay, COCO evaluation, re-parameterization."""
import pytest
import torch
from mmengine.runner import CheckpointLoader

from mmunirep.apis import (build_model, build_test_pipeline, load_config,
                           predict)
from tests.test_tools.conftest import DET_DEMO, read_metrics, run_tool

DET = DET_DEMO
DET_DEPLOY = 'configs/demo/deploy/cascade_mask_rcnn_unireplknet_a_shapes.py'


def assert_same_detections(a, b, score_thr=0.05):
    """Every detection of ``a`` above the threshold has a twin in ``b`` (same
    label, box to 1e-3) and vice versa; order may differ among near-equal
    scores."""
    assert len(a) > 0

    def matched(x, y):
        keep = x.scores > score_thr
        for label, box in zip(x.labels[keep], x.bboxes[keep]):
            close = (y.bboxes - box).abs().max(dim=1).values <= 1e-3
            assert (close & (y.labels == label)).any(), (label, box)

    matched(a, b)
    matched(b, a)


@pytest.fixture(scope='module')
def trained(det_trained):
    """One epoch (4 iterations) with EMA and layer decay, re-parameterized
    and evaluated by the main job (tools/reparameterize.py, tools/test.py on
    both checkpoints)."""
    return det_trained


def test_training_with_ema_and_layer_decay_then_coco_eval(trained):
    work_dir, log = trained
    assert 'Layer-wise lr decay (layer_wise, rate 0.8)' in log
    checkpoint = CheckpointLoader.load_checkpoint(str(work_dir /
                                                      'epoch_1.pth'))
    assert 'ema_state_dict' in checkpoint
    # bbox and segm COCO evaluation ran and reported
    assert 'coco/bbox_mAP:' in log and 'coco/segm_mAP:' in log


def test_deploy_model_gives_the_same_detections_and_metrics(
        trained, shapes_data):
    # the main job ran tools/reparameterize.py, then tools/test.py on the
    # training checkpoint (training config) and on deploy.pth (deploy config)
    work_dir, _ = trained
    ckpt, deploy = work_dir / 'epoch_1.pth', work_dir / 'deploy.pth'
    trained_m, deploy_m = (read_metrics(work_dir / 'test_trained'),
                           read_metrics(work_dir / 'test_deploy'))
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert isinstance(trained_m[key], float)
        assert deploy_m[key] == pytest.approx(trained_m[key], abs=1e-3)
    # the detections themselves: same labels, boxes to 1e-3
    cfg = load_config(DET, dict(test_dataloader=dict(dataset=dict(
        data_root=f'{shapes_data}/coco/'))))
    images = sorted(str(p) for p in (shapes_data / 'coco/val2017')
                    .glob('*.jpg'))
    pipeline = build_test_pipeline(cfg)
    with torch.no_grad():
        ours = predict(build_model(cfg, str(ckpt)), pipeline, images)
        deployed = predict(build_model(load_config(DET_DEPLOY), str(deploy)),
                           pipeline, images)
    for a, b in zip(ours, deployed):
        assert_same_detections(a.pred_instances, b.pred_instances)


def test_reparameterize_takes_ema_weights_by_default(trained, tmp_path):
    work_dir, _ = trained
    ckpt = work_dir / 'epoch_1.pth'
    # the main job's deploy.pth: tools/reparameterize.py without options
    ema_file = work_dir / 'deploy.pth'
    run_tool('tools/reparameterize.py', DET, ckpt, tmp_path / 'raw.pth',
             '--raw-weights')
    ema = CheckpointLoader.load_checkpoint(str(ema_file))
    raw = CheckpointLoader.load_checkpoint(str(tmp_path / 'raw.pth'))
    assert ema['meta']['reparameterized']['weights'] == 'EMA weights'
    assert raw['meta']['reparameterized']['weights'] == \
        'raw weights (ema_state_dict)'
    assert ema['meta']['epoch'] == 1  # meta kept
    assert 'optimizer' not in ema and 'ema_state_dict' not in ema
    key = 'roi_head.bbox_head.0.fc_cls.weight'
    assert not torch.equal(ema['state_dict'][key], raw['state_dict'][key])
    # both load strictly into the deploy config
    for path in (ema_file, tmp_path / 'raw.pth'):
        build_model(load_config(DET_DEPLOY), str(path))


def test_predict_and_draw_detections(trained, shapes_data, tmp_path):
    """The inference API outside a Runner: no autograd graph in the results
    (the visualizer converts them to numpy), boxes and masks drawn."""
    import mmcv
    import numpy as np

    from mmunirep.apis import dataset_meta_of, draw_prediction
    work_dir, _ = trained
    cfg = load_config(DET)
    image = sorted(str(p) for p in (shapes_data / 'coco/val2017')
                   .glob('*.jpg'))[0]
    model = build_model(cfg, str(work_dir / 'epoch_1.pth'))
    result = predict(model, build_test_pipeline(cfg), [image])[0]
    instances = result.pred_instances
    assert len(instances) > 0 and not instances.bboxes.requires_grad
    out_file = str(tmp_path / 'drawn.png')
    draw_prediction(cfg, dataset_meta_of(cfg), image, result, out_file,
                    score_thr=0.0)
    drawn, source = mmcv.imread(out_file), mmcv.imread(image)
    assert drawn.shape == source.shape
    assert np.abs(drawn.astype(int) - source.astype(int)).mean() > 1
