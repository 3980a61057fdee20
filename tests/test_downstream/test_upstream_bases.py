# Copyright (c) mmunirep contributors. All rights reserved.
"""The backbone inside mmseg's and mmdet's own base configs: each builds
from the upstream base with only the backbone swapped (as a user's config
does) and runs one forward + backward training step on tiny CPU inputs."""
import copy
import re
import time
import warnings
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from mmunirep.checkpoints import PUBLISHED

ROOT = Path(__file__).resolve().parents[2]
ARCH = 'a'
DIMS = [40, 80, 160, 320]  # UniRepLKNet-A stage widths
SIZE = 64
MMSEG_RESNET = 'open-mmlab://resnet50_v1c'

#: base -> (scope, upstream config, model overrides besides the backbone)
BASES = {
    'fpn_r50': ('mmseg', 'mmseg::_base_/models/fpn_r50.py',
                dict(neck=dict(in_channels=DIMS))),
    'upernet_r50': ('mmseg', 'mmseg::_base_/models/upernet_r50.py',
                    dict(decode_head=dict(in_channels=DIMS),
                         auxiliary_head=dict(in_channels=DIMS[2]))),
    'deeplabv3plus_r50-d8': (
        'mmseg', 'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
        dict(decode_head=dict(in_channels=DIMS[3], c1_in_channels=DIMS[0]),
             auxiliary_head=dict(in_channels=DIMS[2]))),
    'segformer_mit-b0': ('mmseg', 'mmseg::_base_/models/segformer_mit-b0.py',
                         dict(decode_head=dict(in_channels=DIMS))),
    'mask2former': (
        'mmseg', 'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-'
        '512x512.py',
        dict(decode_head=dict(in_channels=DIMS, num_queries=10,
                              train_cfg=dict(num_points=256)))),
    'mask-rcnn_r50_fpn': ('mmdet', 'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
                          dict(neck=dict(in_channels=DIMS))),
    'retinanet_r50_fpn': ('mmdet', 'mmdet::_base_/models/retinanet_r50_fpn.py',
                          dict(neck=dict(in_channels=DIMS))),
    'cascade-mask-rcnn_r50_fpn': (
        'mmdet', 'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
        dict(neck=dict(in_channels=DIMS))),
    'fcos_r50-caffe_fpn_gn-head': (
        'mmdet', 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
        dict(neck=dict(in_channels=DIMS))),
    'dino-4scale_r50': (
        'mmdet', 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
        dict(neck=dict(in_channels=DIMS[1:]), num_queries=20,
             dn_cfg=dict(group_cfg=dict(num_dn_queries=10)))),
}


def user_config(tmp_path, base, overrides, out_indices):
    """What a user writes: the upstream base, our backbone, the new
    widths. Nothing else (no custom_imports, no model.pretrained)."""
    backbone = dict(_delete_=True, type='mmunirep.UniRepLKNet', arch=ARCH,
                    out_indices=out_indices)
    path = tmp_path / 'user_config.py'
    path.write_text(f'_base_ = [{base!r}]\n'
                    f'model = {dict(overrides, backbone=backbone)!r}\n')
    return Config.fromfile(str(path))


def fewer_rois(cfg, num=64):
    """Sample 64 RoIs per image in the R-CNN heads (512 in the bases): the
    mask heads on hundreds of positives cost 15 s per step on 2 cores."""
    rcnn = cfg.model.get('train_cfg', {}).get('rcnn')
    for stage in rcnn if isinstance(rcnn, list) else [rcnn] if rcnn else []:
        stage.sampler.num = num


def seg_batch(num_classes):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(torch.randint(0, 256, (3, SIZE, SIZE),
                                    dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, SIZE, SIZE))
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(SIZE, SIZE),
                                 ori_shape=(SIZE, SIZE),
                                 pad_shape=(SIZE, SIZE)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def det_batch():
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    return demo_mm_inputs(batch_size=2, image_shapes=[(3, SIZE, SIZE)] * 2,
                          num_items=[3, 2], num_classes=80, with_mask=True)


@pytest.mark.parametrize('base_name', list(BASES))
def test_one_train_step_in_upstream_base(base_name, tmp_path):
    scope, base, overrides = BASES[base_name]
    out_indices = (1, 2, 3) if base_name.startswith('dino') else (0, 1, 2, 3)
    cfg = user_config(tmp_path, base, overrides, out_indices)
    if scope == 'mmseg':
        cfg.model.data_preprocessor.size = (SIZE, SIZE)
    fewer_rois(cfg)
    init_default_scope(scope)
    from mmengine.registry import MODELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
    # mmseg's EncoderDecoder hands its model-level `pretrained` (ResNet
    # weights in three of these bases) to the backbone: accepted, with a
    # warning that says how to turn it off
    handed_down = cfg.model.get('pretrained')
    if handed_down:
        assert handed_down == MMSEG_RESNET
        assert model.backbone.pretrained_cfg == dict(type='Pretrained',
                                                     checkpoint=MMSEG_RESNET)
        assert any('set `pretrained=None`' in str(w.message) for w in caught)
    else:
        assert model.backbone.pretrained_cfg is None
    model.train()

    num_classes = cfg.model.decode_head.num_classes if scope == 'mmseg' \
        else None
    batch = seg_batch(num_classes) if scope == 'mmseg' else det_batch()
    start = time.perf_counter()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    seconds = time.perf_counter() - start
    print(f'\n[upstream base] {base_name}: forward + backward '
          f'{seconds:.2f} s, loss {loss.item():.3f}')

    assert torch.isfinite(loss) and loss.item() > 0
    stem = model.backbone.downsample_layers[0][0].weight
    assert stem.grad is not None and stem.grad.abs().sum() > 0
    deepest = model.backbone.stages[3][-1].fc2.weight
    assert deepest.grad is not None and deepest.grad.abs().sum() > 0


def test_pretrained_and_init_cfg_together_is_an_error(tmp_path):
    """A user config that sets init_cfg in an mmseg base which hands down
    ResNet weights: refused, with the fix."""
    cfg = user_config(tmp_path, 'mmseg::_base_/models/upernet_r50.py',
                      dict(decode_head=dict(in_channels=DIMS),
                           auxiliary_head=dict(in_channels=DIMS[2])),
                      (0, 1, 2, 3))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='x.pth')
    init_default_scope('mmseg')
    from mmengine.registry import MODELS
    with pytest.raises(ValueError, match='add `pretrained=None` to `model`'):
        MODELS.build(copy.deepcopy(cfg.model))
    cfg.model.pretrained = None
    assert MODELS.build(cfg.model).backbone.pretrained_cfg['checkpoint'] \
        == 'x.pth'


def readme_user_configs():
    """The config snippets of the README's "Use it in your own config"."""
    text = (ROOT / 'README.md').read_text()
    section = text.split('## Use it in your own config')[1].split('\n## ')[0]
    return re.findall(r'```python\n(.*?)```', section, re.S)


def test_readme_user_configs_build(tmp_path):
    snippets = readme_user_configs()
    assert len(snippets) == 2
    for i, snippet in enumerate(snippets):
        assert len(snippet.strip().splitlines()) <= 14
        path = tmp_path / f'readme_{i}.py'
        path.write_text(snippet)
        cfg = Config.fromfile(str(path))
        init_default_scope(cfg.default_scope)
        from mmengine.registry import MODELS
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        assert type(model.backbone).__name__ == 'UniRepLKNet'
        assert model.backbone.pretrained_cfg['checkpoint'] == \
            PUBLISHED['unireplknet_t_in1k_224_acc83.21.pth'].url
