# Copyright (c) mmunirep contributors. All rights reserved.
"""Every published config builds, and counts as the paper counts."""
import pytest
import torch

from mmunirep.analysis import model_complexity
from mmunirep.analysis.complexity import num_params
from mmunirep.apis import build_model, load_config

# config -> paper params (M); inference structure, no auxiliary head
ADE20K = {
    'upernet_unireplknet_t_ade20k': 61,
    'upernet_unireplknet_s_ade20k': 86,
    'upernet_unireplknet_s_in22k_ade20k': 86,
    'upernet_unireplknet_s_in22k_640_ade20k': 86,
    'upernet_unireplknet_b_ade20k': 130,
    'upernet_unireplknet_l_ade20k': 254,
    'upernet_unireplknet_xl_ade20k': 425,
}
COCO = {
    'cascade_mask_rcnn_unireplknet_t_coco': 89,
    'cascade_mask_rcnn_unireplknet_s_coco': 113,
    'cascade_mask_rcnn_unireplknet_s_in22k_coco': 113,
    'cascade_mask_rcnn_unireplknet_b_coco': 155,
    'cascade_mask_rcnn_unireplknet_l_coco': 276,
    'cascade_mask_rcnn_unireplknet_xl_coco': 443,
}
IMAGENET = {  # backbone + LayerNorm + Linear head
    'unireplknet_a_in1k': 4.44, 'unireplknet_f_in1k': 6.24,
    'unireplknet_p_in1k': 10.74, 'unireplknet_n_in1k': 18.32,
    'unireplknet_t_in1k': 31.04, 'unireplknet_s_in1k': 55.65,
    'unireplknet_s_in22k_to_in1k_384': 55.65,
    'unireplknet_b_in22k_to_in1k_384': 98.01,
    'unireplknet_l_in22k_to_in1k_384': 218.45,
    'unireplknet_xl_in22k_to_in1k_384': 386.53,
}
#: Every config saves crash-safe checkpoints.
ATOMIC_HOOK = 'mmunirep.AtomicCheckpointHook'
#: ... and evaluates only checkpoints that fit it (any tools/test.py).
STRICT_HOOK = 'mmunirep.StrictCheckpointLoadHook'


def assert_guarded(cfg):
    """The run stops on divergence and saves on preemption."""
    hooks = cfg.default_hooks
    assert hooks.divergence_guard.type == 'mmunirep.DivergenceGuardHook'
    assert hooks.divergence_guard.get('enable', True)
    assert hooks.preemption.type == 'mmunirep.PreemptionHook'


def build(name, deploy=True, meta=True):
    cfg = load_config(f'configs/{name}.py')
    if meta:  # parameters only: no memory, no time
        with torch.device('meta'):
            return cfg, build_model(cfg, deploy=deploy, device=None)
    return cfg, build_model(cfg, deploy=deploy)


@pytest.mark.parametrize('name', list(ADE20K))
def test_ade20k_configs(name):
    cfg, model = build(name)
    params = num_params(model.backbone, model.decode_head)
    assert abs(params / 1e6 - ADE20K[name]) < 1.0
    backbone = cfg.model.backbone
    assert backbone.type == 'mmunirep.UniRepLKNet'
    assert backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.optim_wrapper.constructor == \
        'mmunirep.UniRepLKNetLayerDecayConstructor'
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert cfg.default_hooks.checkpoint.type == ATOMIC_HOOK
    assert cfg.default_hooks.strict_load.type == STRICT_HOOK
    assert_guarded(cfg)
    assert cfg.param_scheduler[0].end == 1500
    crop = 640 if '640' in name or name.split('_')[2] in 'blxl' else 512
    assert cfg.crop_size == (crop, crop)


@pytest.mark.parametrize('name', list(COCO))
def test_coco_configs(name):
    cfg, model = build(name)
    assert abs(num_params(model) / 1e6 - COCO[name]) < 1.0
    assert cfg.train_cfg.max_epochs == 36
    assert cfg.default_hooks.checkpoint.type == ATOMIC_HOOK
    assert cfg.default_hooks.strict_load.type == STRICT_HOOK
    assert_guarded(cfg)
    assert cfg.param_scheduler[1].milestones == [27, 33]
    heads = cfg.model.roi_head.bbox_head
    assert [h.bbox_coder.target_stds for h in heads] == [
        [0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
        [0.033, 0.033, 0.067, 0.067]]
    assert all(h.loss_bbox.type == 'GIoULoss' and h.loss_bbox.loss_weight
               == 10.0 and h.num_shared_convs == 4 for h in heads)
    ema = [h for h in cfg.get('custom_hooks', []) if h.type == 'EMAHook']
    assert bool(ema) == ('in22k' in name or name.split('_')[4] in 'blxl')
    rate = cfg.optim_wrapper.paramwise_cfg.decay_rate
    assert rate == (0.7 if name.split('_')[4] in ('l', 'xl') else 0.8)


@pytest.mark.parametrize('name', list(IMAGENET))
def test_imagenet_configs(name):
    cfg, model = build(name)
    assert round(num_params(model) / 1e6, 2) == IMAGENET[name]
    assert cfg.default_hooks.checkpoint.type == ATOMIC_HOOK
    assert cfg.default_hooks.strict_load.type == STRICT_HOOK
    assert_guarded(cfg)


@pytest.mark.parametrize('name', [
    'deploy/upernet_unireplknet_xl_ade20k',
    'deploy/cascade_mask_rcnn_unireplknet_s_in22k_coco',
    'deploy/unireplknet_t_in1k',
])
def test_deploy_configs_build_the_inference_structure(name):
    cfg, model = build(name, deploy=False)
    assert cfg.model.backbone.deploy
    assert model.backbone.deploy
    assert not any('origin_bn' in n for n, _ in model.named_modules())


def test_upernet_t_flops_match_the_paper():
    _, model = build('upernet_unireplknet_t_ade20k', meta=False)
    result = model_complexity(model, (512, 2048))
    assert abs(result.flops / 1e9 - 946) / 946 < 0.01
    assert abs(result.params / 1e6 - 61) < 1.0


def test_cascade_t_flops_match_the_paper():
    _, model = build('cascade_mask_rcnn_unireplknet_t_coco', meta=False)
    result = model_complexity(model, (800, 1280))
    assert abs(result.flops / 1e9 - 749) / 749 < 0.01
    # the mask heads run on 100 RoIs: 3 stages x ~0.53 GMACs per RoI
    mask = sum(v for k, v in result.parts.items() if k.startswith('mask'))
    assert 140e9 < mask < 180e9


def test_a_local_checkpoint_overrides_the_url(tmp_path):
    local = str(tmp_path / 'mine.pth')
    cfg = load_config(
        'configs/upernet_unireplknet_xl_ade20k.py',
        {'model.backbone.init_cfg.checkpoint': local})
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint=local)
