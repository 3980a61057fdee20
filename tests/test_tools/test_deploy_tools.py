# Copyright (c) mmunirep contributors. All rights reserved.
"""tools/deployment/pytorch2onnx.py as users run it."""
import os.path as osp

import mmpretrain
import onnx
import pytest
import torch

from mmunirep.apis import build_model, load_config
from mmunirep.testing import randomize_for_fusion
from tests.test_tools.conftest import run_tool

DEMO_DET = 'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py'
RESNET18 = osp.join(osp.dirname(mmpretrain.__file__),
                    '.mim/configs/resnet/resnet18_8xb32_in1k.py')


def save_random_checkpoint(config, path):
    """A training-structure checkpoint of ``config``'s model with random BN
    statistics and GRN / layer-scale values."""
    cfg = load_config(config)
    model = randomize_for_fusion(build_model(cfg))
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def test_classifier_a_dynamic_export_verifies_at_two_sizes(tmp_path):
    checkpoint = save_random_checkpoint('configs/unireplknet_a_in1k.py',
                                        tmp_path / 'a.pth')
    out = tmp_path / 'a.onnx'
    result = run_tool('tools/deployment/pytorch2onnx.py',
                      'configs/unireplknet_a_in1k.py', checkpoint,
                      '--out', out, '--shape', 96, 128, '--dynamic',
                      '--verify', '--simplify')
    assert 'output "scores" (2, 1000)' in result.stdout
    assert 'verify (1, 3, 96, 128): max relative difference' in result.stdout
    assert 'verify (2, 3, 73, 161): max relative difference' in result.stdout
    assert result.stdout.count('(ok, tolerance 1e-04)') == 2
    dims = onnx.load(out).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


def test_full_detector_is_exported_where_it_traces(tmp_path):
    # DETR's post-processing is tensor code (top-k, no NMS): it exports
    config = tmp_path / 'detr_unireplknet_a.py'
    config.write_text(
        "_base_ = 'mmdet::detr/detr_r18_8xb2-500e_coco.py'\n"
        "model = dict(backbone=dict(_delete_=True, "
        "type='mmunirep.UniRepLKNet', arch='a', out_indices=(3, )), "
        "neck=dict(in_channels=[320]))\n")
    torch.manual_seed(0)
    checkpoint = save_random_checkpoint(str(config), tmp_path / 'detr.pth')
    result = run_tool('tools/deployment/pytorch2onnx.py', config,
                      checkpoint, '--out', tmp_path / 'detr.onnx',
                      '--shape', 128, 160, '--verify')
    full = tmp_path / 'detr_full.onnx'
    assert f'{full}: opset' in result.stdout
    for name, shape in [('bboxes', '(100, 4)'), ('scores', '(100,)'),
                        ('labels', '(100,)')]:
        assert f'output "{name}" {shape}' in result.stdout
    assert result.stdout.count('(ok, tolerance 1e-04)') == 2
    assert 'FAILED' not in result.stdout
    dims = onnx.load(full).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 128, 160]


def test_cascade_exports_features_and_names_what_stops_the_rest(tmp_path):
    checkpoint = save_random_checkpoint(DEMO_DET, tmp_path / 'det.pth')
    result = run_tool('tools/deployment/pytorch2onnx.py', DEMO_DET,
                      checkpoint, '--out', tmp_path / 'det.onnx', '--shape',
                      128, 160)
    out = result.stdout
    for i, size in enumerate([(32, 40), (16, 20), (8, 10), (4, 5), (2, 3)]):
        assert f'output "feat{i}" (1, 128, {size[0]}, {size[1]})' in out
    assert 'full detector: not exported' in out
    # mmdet's RPN post-processing branches on tensor values ...
    assert 'export stops at mmdet/models/dense_heads/rpn_head.py' in out
    # ... and mmcv's compiled NMS and RoIAlign are no PyTorch operators
    assert 'compiled mmcv kernels' in out
    assert 'nms' in out and 'roi_align_forward' in out
    assert not (tmp_path / 'det_full.onnx').exists()


@pytest.mark.parametrize('extra,message', [
    (['--shape', '32', '224'], 'is too small'),
    (['--shape', '224', '224'], 'has nothing to re-parameterize'),
])
def test_clear_errors_and_no_file(tmp_path, extra, message):
    checkpoint = tmp_path / 'resnet.pth'
    torch.save(dict(state_dict=mmpretrain.get_model(
        'resnet18_8xb32_in1k').state_dict()), checkpoint)
    out = tmp_path / 'model.onnx'
    result = run_tool('tools/deployment/pytorch2onnx.py', RESNET18,
                      checkpoint, '--out', out, *extra, expect_ok=False)
    assert message in result.stderr
    assert not out.exists()


def test_out_onto_the_checkpoint_is_refused_and_the_checkpoint_kept(
        tmp_path):
    checkpoint = save_random_checkpoint('configs/unireplknet_a_in1k.py',
                                        tmp_path / 'a.pth')
    before = checkpoint.read_bytes()
    result = run_tool('tools/deployment/pytorch2onnx.py',
                      'configs/unireplknet_a_in1k.py', checkpoint, '--out',
                      checkpoint, '--shape', 96, 96, expect_ok=False)
    assert result.returncode == 1
    assert 'is the same file as the input' in result.stderr
    assert 'Traceback' not in result.stderr
    assert checkpoint.read_bytes() == before
