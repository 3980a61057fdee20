# Copyright (c) mmunirep contributors. All rights reserved.
"""The GPU benchmark's plain-PyTorch UperNet is the config's segmentor:
its settings are read back from configs/upernet_unireplknet_xl_ade20k.py,
its heads have mmseg's parameters (count and names) and outputs."""
import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmunirep.analysis.gpu_benchmark.upernet_plain import (TINY_ADE20K,
                                                           XL_ADE20K,
                                                           FCNHeadPlain,
                                                           UPerHeadPlain,
                                                           build_upernet_plain)
from mmunirep.models import UniRepLKNet
from mmunirep.testing import randomize_for_fusion, relative_error

CONFIG = (Path(__file__).resolve().parents[2] / 'configs' /
          'upernet_unireplknet_xl_ade20k.py')


@pytest.fixture(scope='module')
def model_cfg():
    return Config.fromfile(str(CONFIG)).model


@pytest.fixture
def one_thread():
    """Toy sizes on one thread: shared 2-core machines run threads that
    wait for each other 10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mmseg_heads(model_cfg, **overrides):
    """mmseg's UPerHead and FCNHead built by its registry from the config
    (``overrides`` applied to both)."""
    import mmseg.models  # noqa: F401  (registers the heads)
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    heads = []
    for key in ('decode_head', 'auxiliary_head'):
        cfg = copy.deepcopy(model_cfg[key])
        cfg.update(overrides.get(key, {}))
        # whatever default scope an earlier test of this process left
        with DefaultScope.overwrite_default_scope('mmseg'):
            heads.append(MODELS.build(cfg))
    return heads


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_benchmark_settings_are_the_configs(model_cfg):
    backbone = model_cfg.backbone
    assert backbone.type == 'mmunirep.UniRepLKNet'
    assert (backbone.arch, backbone.drop_path_rate, backbone.with_cp) == (
        XL_ADE20K.arch, XL_ADE20K.drop_path_rate, XL_ADE20K.with_cp)
    head = model_cfg.decode_head
    assert head.type == 'UPerHead'
    assert head.channels == XL_ADE20K.channels
    assert tuple(head.pool_scales) == XL_ADE20K.pool_scales
    assert head.num_classes == XL_ADE20K.num_classes
    assert head.dropout_ratio == XL_ADE20K.dropout_ratio
    assert list(head.in_channels) == UniRepLKNet.arch_settings['xl']['dims']
    aux = model_cfg.auxiliary_head
    assert aux.type == 'FCNHead'
    assert (aux.channels, aux.in_index, aux.num_classes) == (
        XL_ADE20K.aux_channels, XL_ADE20K.aux_in_index,
        XL_ADE20K.num_classes)
    assert (aux.num_convs, aux.concat_input) == (1, False)
    assert aux.dropout_ratio == XL_ADE20K.dropout_ratio
    assert aux.loss_decode.loss_weight == XL_ADE20K.aux_loss_weight
    assert aux.in_channels == head.in_channels[aux.in_index]
    assert tuple(model_cfg.data_preprocessor.size) == XL_ADE20K.crop_size


def test_heads_have_mmsegs_parameter_counts(model_cfg):
    dims = list(model_cfg.decode_head.in_channels)
    with torch.device('meta'):  # shapes only: no initialisation cost
        decode, auxiliary = _mmseg_heads(model_cfg)
        ours_decode = UPerHeadPlain(dims, XL_ADE20K.channels,
                                    XL_ADE20K.pool_scales,
                                    XL_ADE20K.num_classes)
        ours_aux = FCNHeadPlain(dims[XL_ADE20K.aux_in_index],
                                XL_ADE20K.aux_in_index,
                                XL_ADE20K.aux_channels,
                                XL_ADE20K.num_classes)
    # deploy / inference counts (the paper's) have the decode head only
    assert _count(ours_decode) == _count(decode)
    assert _count(ours_aux) == _count(auxiliary)


def test_heads_compute_what_mmsegs_compute(model_cfg, one_thread):
    """Same names, so mmseg's weights (random BN statistics) load strictly;
    then the logits agree (eval mode, small widths)."""
    dims = [8, 16, 32, 64]
    decode, auxiliary = _mmseg_heads(
        model_cfg,
        decode_head=dict(in_channels=dims, channels=16,
                         norm_cfg=dict(type='BN')),
        auxiliary_head=dict(in_channels=32, channels=8,
                            norm_cfg=dict(type='BN')))
    ours = [UPerHeadPlain(dims, 16, XL_ADE20K.pool_scales, 150),
            FCNHeadPlain(32, 2, 8, 150)]
    gen = torch.Generator().manual_seed(0)
    features = [torch.randn(2, c, 32 // 2**i, 32 // 2**i, generator=gen)
                for i, c in enumerate(dims)]
    for theirs, mine in zip((decode, auxiliary), ours):
        randomize_for_fusion(theirs).eval()
        mine.load_state_dict(theirs.state_dict(), strict=True)
        mine.eval()
        with torch.no_grad():
            assert relative_error(mine(features), theirs(features)) < 1e-5


def test_tiny_segmentor_trains_and_predicts(one_thread):
    # the benchmark's tiny run covers gradient checkpointing and 'auto'
    model = build_upernet_plain(replace(TINY_ADE20K, with_cp=False),
                                kernels='plain')
    height, width = TINY_ADE20K.crop_size
    images = torch.randn(2, 3, height, width)
    labels = torch.randint(0, TINY_ADE20K.num_classes, (2, height, width))
    labels[:, :4] = 255  # ignored pixels
    loss = model.loss(images, labels)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert model.auxiliary_head.conv_seg.weight.grad is not None
    model.eval()
    with torch.no_grad():
        prediction = model.predict(images)
    assert prediction.shape == (2, height, width)
    assert int(prediction.max()) < TINY_ADE20K.num_classes
