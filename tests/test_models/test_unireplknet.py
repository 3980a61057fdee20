# Copyright (c) mmunirep contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.runner import load_checkpoint, save_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from mmunirep.models import UniRepLKNet, UniRepLKNetBlock, reparameterize_model
from mmunirep.testing import (TOLERANCE, branchwise_reference,
                              randomize_for_fusion, relative_error)

TINY = dict(depths=[1, 1, 2, 1], dims=[8, 16, 32, 64])


# ------------------------------------------------------------------ blocks
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('kernel_size', [3, 5, 7, 9, 11, 13, 15, 17])
def test_block_deploy_equivalence(kernel_size, dtype):
    torch.manual_seed(kernel_size)
    block = UniRepLKNetBlock(16, kernel_size, drop_path=0.3)
    block = randomize_for_fusion(block).to(dtype).eval()
    x = torch.randn(2, 16, 21, 17, dtype=dtype)
    with branchwise_reference():  # grad enabled: the plain FFN path
        ref = block(x).detach()
    with torch.no_grad():  # the inference fast path (in-place, fused GRN)
        block.switch_to_deploy()
        out = block(x)
    assert relative_error(out - x, ref - x) < TOLERANCE[dtype]
    assert not block.training
    assert block.gamma is None and block.grn.beta is None
    deployed = UniRepLKNetBlock(16, kernel_size, deploy=True).to(dtype)
    deployed.load_state_dict(block.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(deployed.eval()(x), out)


def test_block_switch_is_idempotent_and_keeps_mode():
    block = randomize_for_fusion(UniRepLKNetBlock(8, 13)).train()
    block.switch_to_deploy()
    state = copy.deepcopy(block.state_dict())
    block.switch_to_deploy()
    assert block.training
    assert all(m.training for m in block.modules())
    assert all(torch.equal(v, block.state_dict()[k]) for k, v in state.items())


# ------------------------------------------------------------------ models
def _whole_model_equivalence(arch, dtype, size):
    torch.manual_seed(0)
    model = randomize_for_fusion(UniRepLKNet(arch)).to(dtype).eval()
    x = torch.randn(1, 3, size, size, dtype=dtype)
    with branchwise_reference():  # grad enabled: the plain FFN path
        ref = [out.detach() for out in model(x)]
    with torch.no_grad():  # the inference fast path (in-place, fused GRN)
        model.switch_to_deploy()
        outs = model(x)
    for out, expected in zip(outs, ref):
        assert relative_error(out, expected) < TOLERANCE[dtype]
    return model, x, outs


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_atto_deploy_equivalence_and_strict_reload(dtype, tmp_path):
    model, x, outs = _whole_model_equivalence('a', dtype, 64)
    path = str(tmp_path / 'deploy.pth')
    save_checkpoint(model.state_dict(), path)
    deployed = UniRepLKNet('a', deploy=True).to(dtype)
    load_checkpoint(deployed, path, strict=True)
    with torch.no_grad():
        for out, expected in zip(deployed.eval()(x), outs):
            assert torch.equal(out, expected)


def test_tiny_deploy_equivalence_and_strict_reload(tmp_path):
    model, x, outs = _whole_model_equivalence('t', torch.float32, 64)
    path = str(tmp_path / 'deploy.pth')
    save_checkpoint(model.state_dict(), path)
    deployed = UniRepLKNet('t', deploy=True)
    load_checkpoint(deployed, path, strict=True)
    with torch.no_grad():
        for out, expected in zip(deployed.eval()(x), outs):
            assert torch.equal(out, expected)


def test_tiny_float64_deploy_equivalence():
    _whole_model_equivalence('t', torch.float64, 32)


def test_switch_to_deploy_frees_branches_and_keeps_mode():
    model = UniRepLKNet(TINY).train()
    before = sum(p.numel() for p in model.parameters())
    model.switch_to_deploy()
    assert model.training
    names = [n for n, _ in model.named_modules()]
    assert not any('dil_' in n or 'origin_bn' in n for n in names)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) < before
    assert model.deploy


def test_reparameterize_model_finds_nested_backbones():
    container = torch.nn.ModuleDict(
        dict(backbone=UniRepLKNet(TINY), head=torch.nn.Linear(4, 4)))
    assert reparameterize_model(container) == 1
    assert container['backbone'].deploy
    assert reparameterize_model(torch.nn.Linear(2, 2)) == 0


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3), (3, ), (1, 2), (-1, )])
def test_output_shapes(out_indices):
    model = UniRepLKNet('a', out_indices=out_indices).eval()
    outs = model(torch.rand(2, 3, 64, 96))
    expected = {
        0: (2, 40, 16, 24),
        1: (2, 80, 8, 12),
        2: (2, 160, 4, 6),
        3: (2, 320, 2, 3)
    }
    indices = sorted(i % 4 for i in out_indices)
    assert [tuple(o.shape) for o in outs] == [expected[i] for i in indices]


@pytest.mark.parametrize('training', [True, False])
def test_dense_outputs_feed_mmcv_roi_align_correctly(training):
    """mmcv's compiled RoIAlign reads raw NCHW memory, so a channels-last
    feature map (what a channels-last LayerNorm returns) would be sampled as
    garbage: the outputs must be NCHW-contiguous, whatever the input's
    memory format. Checked against torchvision's stride-aware RoIAlign."""
    from mmcv.ops import roi_align
    from torchvision.ops import roi_align as reference_roi_align
    model = UniRepLKNet(TINY).train(training)
    images = torch.rand(2, 3, 64, 96)
    rois = torch.tensor([[0., 4., 8., 40., 30.], [1., 20., 2., 90., 60.]])
    for x in (images, images.contiguous(memory_format=torch.channels_last)):
        for stride, feature in zip((4, 8, 16, 32), model(x)):
            assert feature.is_contiguous()
            ours = roi_align(feature, rois, (7, 7), 1 / stride, 0, 'avg', True)
            expected = reference_roi_align(feature, rois, 7, 1 / stride, 0,
                                           True)
            torch.testing.assert_close(ours, expected)


def test_odd_input_and_batch_one():
    model = UniRepLKNet(TINY).eval()
    outs = model(torch.rand(1, 3, 97, 131))
    # each stride-2 conv with padding 1 maps n -> ceil(n / 2)
    assert [tuple(o.shape[2:]) for o in outs] == [(25, 33), (13, 17),
                                                  (7, 9), (4, 5)]
    assert all(torch.isfinite(o).all() for o in outs)


def test_tiny_final_feature_map_stays_finite():
    """The authors' code returned NaN for a 12x4 final map in fp16."""
    model = UniRepLKNet(TINY).eval()
    x = torch.rand(1, 3, 384, 128) * 50
    outs = model(x)
    assert tuple(outs[-1].shape[2:]) == (12, 4)
    assert all(torch.isfinite(o).all() for o in outs)


def test_classification_mode():
    model = UniRepLKNet(TINY, out_indices=(3, ), gap_before_final_norm=True)
    model.norm.weight.data.uniform_(0.5, 1.5)
    captured = []
    model.stages[3].register_forward_hook(lambda m, i, o: captured.append(o))
    outs = model.eval()(torch.rand(2, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape == (2, 64)
    assert isinstance(model.norm, torch.nn.LayerNorm)
    assert not hasattr(model, 'norm3')
    ref = torch.nn.functional.layer_norm(captured[0].mean(dim=(2, 3)), (64, ),
                                         model.norm.weight, model.norm.bias,
                                         1e-6)
    assert torch.allclose(outs[0], ref, atol=1e-6)


def test_arch_names_and_dicts():
    assert UniRepLKNet('tiny').depths == [3, 3, 18, 3]
    assert UniRepLKNet('A').dims == [40, 80, 160, 320]
    t_kernels = UniRepLKNet('t').kernel_sizes
    assert t_kernels[2] == (13, 3) * 9 and t_kernels[0] == (3, 3, 3)
    kernels = ((3, ), (5, ), (7, 9), (11, ))
    model = UniRepLKNet(dict(TINY, kernel_sizes=kernels))
    assert model.kernel_sizes == kernels
    assert model.stages[1][0].dwconv.kernel_size == (5, 5)
    assert model.stages[2][1].dwconv.kernel_size == 9


@pytest.mark.parametrize('kwargs, match', [
    (dict(arch='huge'), "choose one of \\['a', 'b', 'f', 'l', 'n', 'p'"),
    (dict(arch=dict(depths=[1, 1, 1, 1])), "missing \\['dims'\\]"),
    (dict(arch=dict(depths=[1, 1, 1], dims=[8, 8, 8])), 'lists of 4 ints'),
    (dict(arch=dict(TINY, width=2)), "unknown \\['width'\\]"),
    (dict(arch=TINY, out_indices=(4, )), 'out_indices must be in'),
    (dict(arch=TINY, out_indices=()), 'non-empty'),
    (dict(arch=TINY, frozen_stages=4), 'frozen_stages must be in'),
    (dict(arch=TINY, kernel_sizes=((3, ), (3, ), (3, ), (3, ))),
     'one size per block'),
    (dict(arch=TINY, kernel_sizes=((3, ), (3, ), (3, 4), (3, ))),
     'unsupported kernel sizes \\[4\\]'),
    (dict(arch=TINY, norm_cfg=dict(type='LN')), 'must be a BatchNorm'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        UniRepLKNet(**kwargs)


# ------------------------------------------------------------------ training
def test_frozen_stages():
    model = UniRepLKNet(TINY, frozen_stages=1)
    model.train()
    for i in range(4):
        frozen = i <= 1
        modules = [model.downsample_layers[i], model.stages[i],
                   getattr(model, f'norm{i}')]
        for module in modules:
            assert all(p.requires_grad != frozen for p in module.parameters())
            for m in module.modules():
                if isinstance(m, _BatchNorm):
                    assert m.training != frozen
    x = torch.rand(2, 3, 32, 32)
    stats = model.stages[0][0].norm.running_mean.clone()
    model(x)
    assert torch.equal(model.stages[0][0].norm.running_mean, stats)


def test_norm_eval():
    model = UniRepLKNet(TINY, norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    assert model.stages[0][0].se.training


def test_with_cp_same_outputs_gradients_and_bn_stats():
    torch.manual_seed(0)
    plain = UniRepLKNet(TINY, drop_path_rate=0.5).train()
    cp = copy.deepcopy(plain)
    for block in cp.modules():
        if isinstance(block, UniRepLKNetBlock):
            block.with_cp = True
    x = torch.rand(2, 3, 32, 32)
    results = []
    for model in (plain, cp):
        torch.manual_seed(1)  # the same drop-path draws
        loss = sum(o.square().mean() for o in model(x))
        loss.backward()
        results.append((loss.detach(),
                        {n: p.grad.clone()
                         for n, p in model.named_parameters()},
                        {n: b.clone() for n, b in model.named_buffers()}))
    assert torch.equal(results[0][0], results[1][0])
    for name, grad in results[0][1].items():
        assert torch.allclose(grad, results[1][1][name], atol=1e-7), name
    for name, buf in results[0][2].items():
        assert torch.equal(buf, results[1][2][name]), name
    assert UniRepLKNet(TINY, with_cp=True).stages[0][0].with_cp


def test_stochastic_depth_rates():
    model = UniRepLKNet(TINY, drop_path_rate=0.4)
    rates = [getattr(b.drop_path, 'drop_prob', 0.)
             for s in model.stages for b in s]
    assert rates == pytest.approx([0., 0.1, 0.2, 0.3, 0.4])


def test_layer_scale():
    model = UniRepLKNet(TINY, layer_scale_init_value=0.25)
    assert torch.equal(model.stages[1][0].gamma, torch.full((16, ), 0.25))
    assert UniRepLKNet(TINY, layer_scale_init_value=0).stages[0][0].gamma \
        is None


# ------------------------------------------------------------------ layer
# decay ids
def test_get_layer_depth_follows_the_authors_mapping():
    model = UniRepLKNet('s')
    n = 12
    cases = {
        'backbone.downsample_layers.0.0.weight': 0,
        'backbone.stages.0.2.gamma': 1,
        'backbone.downsample_layers.1.0.weight': 2,
        'backbone.stages.1.0.se.up.bias': 2,
        'backbone.downsample_layers.2.1.bias': 3,
        'backbone.stages.2.0.dwconv.lk_origin.weight': 3,
        'backbone.stages.2.2.norm.weight': 3,
        'backbone.stages.2.3.norm.weight': 4,
        'backbone.stages.2.26.fc2.weight': 3 + 26 // 3,
        'backbone.downsample_layers.3.0.weight': n,
        'backbone.stages.3.1.grn.gamma': n,
        'backbone.norm3.weight': n + 1,
        'decode_head.conv_seg.weight': n + 1,
    }
    for name, layer_id in cases.items():
        assert model.get_layer_depth(name, 'backbone.') == (layer_id, n + 2)
    assert UniRepLKNet('t').num_layers == 9
    assert UniRepLKNet('a').num_layers == 5
    assert model.get_layer_depth('stages.3.0.gamma', num_layers=20) == (20, 22)
