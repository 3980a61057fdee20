# Copyright (c) mmunirep contributors. All rights reserved.
"""ONNX export of the inference structure, checked with onnxruntime against
the training structure in PyTorch (randomised BatchNorm / GRN / layer
scale), at sizes other than the traced one."""
import copy

import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmunirep.apis import build_model, load_config, task_of
from mmunirep.deployment import (EXPORT_MODULES, MatmulAdaptiveAvgPool2d,
                                 check_export_shape, check_inference_structure,
                                 export_onnx, exportable_adaptive_pools,
                                 ort_session)
from mmunirep.models import UniRepLKNet, reparameterize_model
from mmunirep.testing import randomize_for_fusion, relative_error

TOLERANCE = 1e-4


def trained_model(config):
    """The config's model in training structure, eval mode, with random
    BN statistics, GRN parameters and layer scales."""
    cfg = load_config(config)
    cfg.model.backbone.init_cfg = None
    return task_of(cfg), randomize_for_fusion(build_model(cfg))


def export_and_compare(config, reference, shape, run_shapes, tmp_path):
    """Export the re-parameterized model with dynamic axes and compare
    onnxruntime with ``reference(training_model, x)`` at ``run_shapes``."""
    task, model = trained_model(config)
    training_model = copy.deepcopy(model)
    reparameterize_model(model)
    check_inference_structure(model)
    result = export_onnx(EXPORT_MODULES[task](model),
                         str(tmp_path / 'model.onnx'), shape, dynamic=True)
    # every node is a standard ONNX operator: no oneDNN or custom ops
    assert all(onnx.defs.has(op) for op in result.op_types), result.op_types
    graph = onnx.load(result.onnx_file).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == [
        'batch', 3, 'height', 'width']
    session = ort_session(result.onnx_file)
    generator = torch.Generator().manual_seed(1)
    for run_shape in run_shapes:
        x = torch.randn(*run_shape, generator=generator)
        with torch.no_grad():
            expected = reference(training_model, x)
        outputs = session.run(None, {'input': x.numpy()})
        assert len(outputs) == len(expected)
        for out, ref in zip(outputs, expected):
            out = torch.from_numpy(out)
            assert out.shape == ref.shape, run_shape
            assert relative_error(out, ref) < TOLERANCE, run_shape
    return result


def test_classifier_t_dynamic_export_matches_at_other_sizes(tmp_path):
    def scores(model, x):
        features = model.backbone(x)[-1]
        return [F.linear(features, model.head.fc.weight, model.head.fc.bias)]

    result = export_and_compare('configs/unireplknet_t_in1k.py', scores,
                                (96, 128),
                                [(1, 3, 96, 128), (3, 3, 97, 161),
                                 (1, 3, 161, 75)], tmp_path)
    assert result.output_names == ['scores']


def test_segmentor_t_dynamic_export_matches_at_other_sizes(tmp_path):
    def logits(model, x):
        out = model.decode_head(model.extract_feat(x))
        return [F.interpolate(out, size=x.shape[2:], mode='bilinear',
                              align_corners=False)]

    result = export_and_compare('configs/upernet_unireplknet_t_ade20k.py',
                                logits, (128, 160),
                                [(1, 3, 128, 160), (2, 3, 97, 201),
                                 (1, 3, 161, 129)], tmp_path)
    assert result.output_names == ['logits']
    assert result.output_shapes == [(2, 150, 128, 160)]


def test_detector_t_backbone_and_neck_match_at_other_sizes(tmp_path):
    def fpn(model, x):
        return list(model.neck(model.backbone(x)))

    result = export_and_compare(
        'configs/cascade_mask_rcnn_unireplknet_t_coco.py', fpn, (128, 160),
        [(1, 3, 128, 160), (2, 3, 97, 201), (1, 3, 161, 129)], tmp_path)
    assert result.output_names == [f'feat{i}' for i in range(5)]


@pytest.mark.parametrize('output_size', [1, 2, 3, 6, (4, None), (None, 5)])
def test_matmul_adaptive_pool_equals_pytorch(output_size):
    pool = MatmulAdaptiveAvgPool2d(output_size)
    for size in [(7, 9), (13, 31), (6, 6), (2, 3), (1, 1)]:
        x = torch.randn(2, 4, *size, dtype=torch.float64)
        expected = nn.AdaptiveAvgPool2d(output_size)(x)
        assert torch.allclose(pool(x), expected), size


class PyramidPool(nn.Module):
    """UperNet's pyramid pooling in miniature."""

    def __init__(self):
        super().__init__()
        self.pools = nn.ModuleList(nn.AdaptiveAvgPool2d(s) for s in (1, 3, 6))

    def forward(self, input):
        return tuple(
            F.interpolate(pool(input), size=input.shape[2:], mode='bilinear')
            for pool in self.pools)

    @staticmethod
    def output_names(num_outputs):
        return [f'pool{i}' for i in range(num_outputs)]


def test_adaptive_pools_export_exactly_at_every_size(tmp_path):
    module = PyramidPool()
    result = export_onnx(module, str(tmp_path / 'ppm.onnx'), (96, 64),
                         dynamic=True)
    # the modules are back after the export
    assert all(type(p) is nn.AdaptiveAvgPool2d for p in module.pools)
    session = ort_session(result.onnx_file)
    for size in [(96, 64), (67, 131), (41, 77), (200, 90)]:
        x = torch.randn(2, 3, *size)
        for out, ref in zip(session.run(None, {'input': x.numpy()}),
                            module(x)):
            assert relative_error(torch.from_numpy(out), ref) < 1e-5, size


def test_exportable_adaptive_pools_restores_on_error():
    module = PyramidPool()
    with pytest.raises(RuntimeError):
        with exportable_adaptive_pools(module) as swapped:
            assert swapped == 3
            assert all(isinstance(p, MatmulAdaptiveAvgPool2d)
                       for p in module.pools)
            raise RuntimeError('export failed')
    assert all(type(p) is nn.AdaptiveAvgPool2d for p in module.pools)


@pytest.mark.parametrize('shape,message', [
    ((32, 224), 'at least 64'),
    ((224, ), 'two integers'),
    ((224.0, 224), 'two integers'),
])
def test_bad_export_shapes_are_refused(shape, message):
    with pytest.raises(ValueError, match=message):
        check_export_shape(shape)


def test_model_without_reparameterizable_modules_is_refused():
    from mmpretrain import get_model
    model = get_model('resnet18_8xb32_in1k')
    with pytest.raises(ValueError,
                       match='ResNet\\) has nothing to re-parameterize'):
        check_inference_structure(model)


def test_training_structure_is_refused():
    model = UniRepLKNet('a', out_indices=(3, ))
    with pytest.raises(ValueError, match='still in the training structure'):
        check_inference_structure(model)
    model.switch_to_deploy()
    check_inference_structure(model)
