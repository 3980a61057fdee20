# Copyright (c) mmunirep contributors. All rights reserved.
"""Layer-wise lr decay groups against hand-written tables."""
import logging

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper

from mmunirep.apis import build_model, load_config
from mmunirep.engine.optimizers import UniRepLKNetLayerDecayConstructor
from mmunirep.models import UniRepLKNet

# Parameter tensors per block, counted by hand from the block's structure:
# kernel-3 block: decayed dwconv, se.down, se.up, fc1, fc2 weights;
# not decayed: BN weight/bias (norm, bn), SE and fc1 biases, GRN gamma/beta
# and the layer scale.
K3 = (5, 10)
# kernel-13 block: the depthwise conv is a Dilated Reparam Block instead:
# lk_origin and 5 dilated conv weights (decayed), 6 BNs (not decayed).
K13 = (4 + 6, 10 + 12)
DOWNSAMPLE = (1, 3)  # conv weight | conv bias, LayerNorm weight and bias
STEM = (2, 6)


def add(*counts):
    return tuple(map(sum, zip(*counts)))


# layer id -> (decayed tensors, undecayed tensors) in the backbone.
T_LAYER_WISE = {  # depths 3, 3, 18, 3; stage 2 kernels (13, 3) x 9; N = 9
    0: STEM,
    1: add(K3, K3, K3),
    2: add(DOWNSAMPLE, K13, K13, K13),
    3: add(DOWNSAMPLE, K13, K3, K13),
    4: add(K3, K13, K3),
    5: add(K13, K3, K13),
    6: add(K3, K13, K3),
    7: add(K13, K3, K13),
    8: add(K3, K13, K3),
    9: add(DOWNSAMPLE, K13, K13, K13),
}
S_GROUP = add(K13, K3, K3)  # stage 2 kernels (13, 3, 3) x 9
S_LAYER_WISE = {  # depths 3, 3, 27, 3; N = 12
    0: STEM,
    1: add(K3, K3, K3),
    2: add(DOWNSAMPLE, K13, K13, K13),
    3: add(DOWNSAMPLE, S_GROUP),
    **{i: S_GROUP for i in range(4, 12)},
    12: add(DOWNSAMPLE, K13, K13, K13),
}
T_STAGE_WISE = {  # all downsampling layers -> 0, stage i -> i + 1; N = 12
    0: add(STEM, DOWNSAMPLE, DOWNSAMPLE, DOWNSAMPLE),
    1: add(K3, K3, K3),
    2: add(K13, K13, K13),
    3: add(*([K13, K3] * 9)),
    4: add(K13, K13, K13),
}


def build_groups(config, decay_type, num_layers, **overrides):
    cfg = load_config(config, dict(model=dict(backbone=dict(init_cfg=None))))
    model = build_model(cfg)
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.paramwise_cfg = dict(decay_rate=2.0, decay_type=decay_type,
                                   num_layers=num_layers, **overrides)
    wrapper = build_optim_wrapper(model, optim_cfg)
    return model, wrapper.optimizer.param_groups


def classifier_lrs(model, constructor, paramwise_cfg):
    """Build the optimizer of an A classifier (``model``, possibly wrapped)
    with ``constructor``; return its param groups and each parameter's lr
    by name (names of the unwrapped model, matched by identity)."""
    optim_cfg = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
        constructor=constructor, paramwise_cfg=paramwise_cfg)
    groups = build_optim_wrapper(model, optim_cfg).optimizer.param_groups
    module = getattr(model, 'module', model)
    names = {id(p): n for n, p in module.named_parameters()}
    return groups, {names[id(p)]: g['lr'] for g in groups
                    for p in g['params']}


@pytest.mark.parametrize('config, decay_type, num_layers, table', [
    ('configs/upernet_unireplknet_t_ade20k.py', 'layer_wise', 9,
     T_LAYER_WISE),
    ('configs/upernet_unireplknet_s_ade20k.py', 'layer_wise', 12,
     S_LAYER_WISE),
    ('configs/upernet_unireplknet_t_ade20k.py', 'stage_wise', 12,
     T_STAGE_WISE),
])
def test_groups_equal_the_hand_written_table(config, decay_type, num_layers,
                                             table):
    model, groups = build_groups(config, decay_type, num_layers)
    base_lr = 1e-4
    found = {}
    for group in groups:
        layer_id = group['layer_id']
        decayed = group['weight_decay'] > 0
        # decay rate 2: lr scale 2 ** (N + 1 - id), exact in floating point
        assert group['lr'] == base_lr * 2.0**(num_layers + 1 - layer_id)
        assert group['weight_decay'] in (0.0, 0.05)
        found[(layer_id, decayed)] = len(group['params'])
    for layer_id, (decayed, undecayed) in table.items():
        assert found.get((layer_id, True), 0) == decayed, layer_id
        assert found.get((layer_id, False), 0) == undecayed, layer_id
    # everything else (output norms, decode and auxiliary heads) on top
    top = num_layers + 1
    backbone_ids = set(table)
    assert {i for i, _ in found} == backbone_ids | {top}
    n_backbone = sum(sum(v) for v in table.values())
    n_all = len([p for p in model.parameters() if p.requires_grad])
    n_top = found.get((top, True), 0) + found.get((top, False), 0)
    assert n_top == n_all - n_backbone
    assert n_top > 8  # the four output norms and the heads


def test_every_parameter_in_exactly_one_group():
    model, groups = build_groups('configs/upernet_unireplknet_t_ade20k.py',
                                 'layer_wise', 9)
    grouped = [id(p) for g in groups for p in g['params']]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) == {id(p) for p in model.parameters()}
    names = {n for g in groups for n in g['param_names']}
    assert 'backbone.stages.2.17.grn.gamma' in names


def test_grn_weight_decay_choice():
    _, groups = build_groups('configs/upernet_unireplknet_t_ade20k.py',
                             'layer_wise', 9)
    decay_of = {n: g['weight_decay'] for g in groups
                for n in g['param_names']}
    assert decay_of['backbone.stages.1.0.grn.gamma'] == 0.0
    assert decay_of['backbone.stages.1.0.grn.beta'] == 0.0
    assert decay_of['backbone.stages.1.0.fc1.weight'] == 0.05
    _, groups = build_groups('configs/upernet_unireplknet_t_ade20k.py',
                             'layer_wise', 9, decay_grn=True)
    decay_of = {n: g['weight_decay'] for g in groups
                for n in g['param_names']}
    assert decay_of['backbone.stages.1.0.grn.gamma'] == 0.05  # authors'
    assert decay_of['backbone.stages.1.0.gamma'] == 0.0


def test_classifier_and_natural_depth():
    model = build_model(load_config('configs/unireplknet_a_in1k.py'))
    _, lr_of = classifier_lrs(model,
                              'mmunirep.UniRepLKNetLayerDecayConstructor',
                              dict(decay_rate=0.5))
    # A: stage 2 has 6 blocks -> ids 3, 4; N = 5; head on top (id 6)
    assert lr_of['head.fc.weight'] == 1.0
    assert lr_of['backbone.norm.weight'] == 1.0
    assert lr_of['backbone.stages.3.0.gamma'] == 0.5
    assert lr_of['backbone.stages.2.5.gamma'] == 0.5**2
    assert lr_of['backbone.stages.2.0.gamma'] == 0.5**3
    assert lr_of['backbone.downsample_layers.0.0.weight'] == 0.5**6


def test_ddp_wrapped_model(tmp_path):
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/pg',
                            rank=0, world_size=1)
    try:
        cfg = load_config('configs/unireplknet_a_in1k.py')
        model = MMDistributedDataParallel(module=build_model(cfg))
        groups, lr_of = classifier_lrs(
            model, 'mmunirep.UniRepLKNetLayerDecayConstructor',
            dict(decay_rate=0.5))
        assert lr_of['backbone.stages.3.0.gamma'] == 0.5
        assert not any(n.startswith('module.') for g in groups
                       for n in g['param_names'])
    finally:
        dist.destroy_process_group()


def test_logs_a_compact_table():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        build_groups('configs/upernet_unireplknet_t_ade20k.py', 'layer_wise',
                     9)
    finally:
        logger.removeHandler(handler)
    texts = [r.getMessage() for r in records
             if 'Layer-wise lr decay' in r.getMessage()]
    assert len(texts) == 1 and '22 parameter groups' in texts[0]
    # title + header + rule + one row per group, not one line per parameter
    assert len(texts[0].splitlines()) == 3 + 22


def test_bad_paramwise_cfg_and_models():
    with pytest.raises(ValueError, match='does not understand'):
        UniRepLKNetLayerDecayConstructor(
            dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1.)),
            dict(decay_rate=0.9, custom_keys={}))
    with pytest.raises(ValueError, match='decay_type must be one of'):
        UniRepLKNetLayerDecayConstructor(
            dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1.)),
            dict(decay_type='block_wise'))
    constructor = UniRepLKNetLayerDecayConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1.)))
    with pytest.raises(ValueError, match='found no UniRepLKNet'):
        constructor(torch.nn.Linear(2, 2))


def test_mmpretrain_constructor_uses_get_layer_depth():
    from mmengine.registry import init_default_scope
    model = build_model(load_config('configs/unireplknet_a_in1k.py'))
    init_default_scope('mmpretrain')
    _, lr_of = classifier_lrs(model,
                              'LearningRateDecayOptimWrapperConstructor',
                              dict(layer_decay_rate=0.5))
    assert lr_of['backbone.stages.3.0.gamma'] == 0.5
    assert lr_of['backbone.stages.2.0.gamma'] == 0.5**3
    assert lr_of['backbone.downsample_layers.0.0.weight'] == 0.5**6


def small_classifier_optim_wrapper(constructor, paramwise_cfg):
    """A small UniRepLKNet and its optimizer wrapper, built from a
    ConfigDict as the Runner builds it."""
    torch.manual_seed(0)
    model = UniRepLKNet(dict(depths=[1, 1, 1, 1], dims=[8, 16, 32, 64],
                             kernel_sizes=[[3], [3], [3], [3]]),
                        out_indices=(3, ), gap_before_final_norm=True)
    optim_cfg = ConfigDict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        constructor=constructor, paramwise_cfg=paramwise_cfg)
    return model, build_optim_wrapper(model, optim_cfg)


@pytest.mark.parametrize('constructor, paramwise_cfg', [
    ('mmunirep.UniRepLKNetLayerDecayConstructor', dict(decay_rate=0.8)),
    ('mmunirep.PlainGroupsOptimWrapperConstructor',
     dict(norm_decay_mult=0.0, custom_keys={'.gamma': dict(decay_mult=0.)})),
])
def test_param_groups_are_plain_dicts(constructor, paramwise_cfg):
    """MMEngine's default constructor turns the groups of a paramwise_cfg
    into ConfigDicts (built from a ConfigDict config, as the Runner does),
    which TorchDynamo refuses in compiled optimizer steps."""
    _, wrapper = small_classifier_optim_wrapper(constructor, paramwise_cfg)
    groups = wrapper.optimizer.param_groups
    assert len(groups) > 1 and all(type(g) is dict for g in groups)


def test_compiled_train_step_runs_the_optimizer():
    """What MMEngine's compile=True compiles: forward, backward and the
    optimizer step with our layer-decay groups."""
    model, wrapper = small_classifier_optim_wrapper(
        'mmunirep.UniRepLKNetLayerDecayConstructor', dict(decay_rate=0.8))

    def train_step(x):
        loss = model(x)[0].square().mean()
        wrapper.update_params(loss)
        return loss

    torch._dynamo.reset()
    torch.compile(train_step, backend='aot_eager')(torch.randn(2, 3, 32, 32))
    # AdamW stepped every parameter of every group
    state = wrapper.optimizer.state
    assert all(state[p]['step'] == 1 for p in model.parameters())
