# Copyright (c) mmunirep contributors. All rights reserved.
"""The effective receptive field (ERF) analysis and its tool."""
import copy
import json

import mmcv
import numpy as np
import pytest
import torch
from torch import nn

from mmunirep.analysis.erf import (area_ratios, compute_erf,
                                   input_gradient_map, scale_erf,
                                   stage_modules)
from mmunirep.analysis.erf_models import mmpretrain_model_name
from mmunirep.models import UniRepLKNet
from mmunirep.testing import randomize_for_fusion
from tests.test_tools.conftest import run_tool


def test_area_ratios_by_hand():
    point = np.zeros((11, 11))
    point[5, 5] = 1
    assert area_ratios(point) == {t: 1 / 121 for t in (0.2, 0.3, 0.5, 0.99)}
    # uniform 10x10 (centre pixel (5, 5)): squares of side 1, 3, 5, 7, 9
    # hold 1, 9, 25, 49, 81 of 100; side 11 is clipped to the whole map
    uniform = np.ones((10, 10))
    assert area_ratios(uniform) == {0.2: 0.25, 0.3: 0.49, 0.5: 0.81,
                                    0.99: 1.0}
    # 60% on the centre, 40% spread over its 3x3 ring
    ring = np.zeros((9, 9))
    ring[3:6, 3:6] = 0.05
    ring[4, 4] = 0.6
    ratios = area_ratios(ring, (0.6, 0.61, 1.0))
    assert ratios == {0.6: 1 / 81, 0.61: 9 / 81, 1.0: 9 / 81}


class ConvStages(nn.Module):
    """Two 'stages': a 3x3 conv, then a 5x5 conv, both positive; the centre
    of the output depends on exactly the 7x7 input window around it."""

    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 2, 5, padding=2))
        for conv in self.stages:
            nn.init.uniform_(conv.weight, 0.1, 1.0)
            nn.init.constant_(conv.bias, 1.0)

    def forward(self, x):
        return self.stages(x)


def test_gradient_map_covers_exactly_the_receptive_field():
    image = torch.rand(1, 3, 21, 21)
    grad = input_gradient_map(ConvStages(), image)
    assert grad.shape == (21, 21)
    support = (grad > 0).nonzero()
    assert support.min(0).values.tolist() == [7, 7]
    assert support.max(0).values.tolist() == [13, 13]
    # 7x7 of 21x21 holds everything
    ratios = area_ratios(scale_erf(grad))
    assert ratios[0.99] == pytest.approx(49 / 441)


def test_stages_of_resnet_and_unireplknet():
    from mmpretrain.models import ResNet
    assert len(stage_modules(ResNet(18))) == 4
    assert len(stage_modules(UniRepLKNet('a'))) == 4
    with pytest.raises(ValueError, match='cannot find the stages'):
        stage_modules(nn.Conv2d(3, 3, 1))


def test_erf_is_the_same_in_training_and_inference_structure():
    model = randomize_for_fusion(UniRepLKNet('a', out_indices=(0, 1, 2, 3)))
    deploy = copy.deepcopy(model)
    deploy.switch_to_deploy()
    images = [torch.randn(1, 3, 64, 64, generator=torch.Generator()
                          .manual_seed(i)) for i in range(2)]
    erf = compute_erf(model, images)
    assert erf.shape == (64, 64) and (erf >= 0).all() and erf.sum() > 0
    assert torch.allclose(compute_erf(deploy, images), erf, rtol=1e-3,
                          atol=1e-6 * erf.max().item())


def test_scale_refuses_a_zero_map():
    with pytest.raises(ValueError, match='zero'):
        scale_erf(torch.zeros(8, 8))


def test_short_mmpretrain_names():
    assert mmpretrain_model_name('convnext-tiny') == \
        'convnext-tiny_32xb128_in1k'
    assert mmpretrain_model_name('resnet50') == 'resnet50_8xb32_in1k'
    with pytest.raises(ValueError, match='not an mmpretrain model'):
        mmpretrain_model_name('convnext-huge')


@pytest.fixture(scope='module')
def image_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp('erf_images')
    rng = np.random.default_rng(0)
    for i in range(3):
        mmcv.imwrite(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8),
                     str(directory / f'{i}.png'))
    return directory


def test_visualize_erf_tool(image_dir, tmp_path):
    out, summary = tmp_path / 'erf.png', tmp_path / 'erf.json'
    result = run_tool(
        'tools/analysis/visualize_erf.py',
        'configs/demo/upernet_unireplknet_a_shapes.py', '--images',
        image_dir, '--num-images', 2, '--shape', 64, '--out', out,
        '--compare', 'resnet18', '--json', summary)
    height, width = mmcv.imread(str(out)).shape[:2]
    assert width >= 512 and height >= 256
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines)
                  if line.startswith('model'))
    assert lines[header].split()[1:] == ['t=20%', 't=30%', 't=50%', 't=99%']
    rows = lines[header + 1:header + 3]
    assert rows[0].startswith('upernet_unireplknet_a_shapes (random init)')
    assert rows[1].startswith('resnet18 (random init)')
    ratios = json.loads(summary.read_text())['ratios']
    for row, values in zip(rows, ratios.values()):
        printed = [float(v.rstrip('%')) for v in row.split()[-4:]]
        assert printed == pytest.approx(
            [100 * v for v in values.values()], abs=0.006)
        assert list(values.values()) == sorted(values.values())


def test_visualize_erf_tool_needs_enough_images(image_dir, tmp_path):
    result = run_tool(
        'tools/analysis/visualize_erf.py',
        'configs/demo/upernet_unireplknet_a_shapes.py', '--images',
        image_dir, '--num-images', 5, '--out', tmp_path / 'erf.png',
        expect_ok=False)
    assert 'has 3 images' in result.stderr and '--num-images 5' in \
        result.stderr
    assert not (tmp_path / 'erf.png').exists()
