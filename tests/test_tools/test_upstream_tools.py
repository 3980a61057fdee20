# Copyright (c) mmunirep contributors. All rights reserved.
"""mmdet's and mmseg's OWN tools/train.py and tools/test.py (shipped in their
packages' .mim) on our demo configs, two iterations each, with no
custom_imports: ``type='mmunirep.UniRepLKNet'`` resolves through our
registry, and our optimizer constructor and hooks with it. Through our
hooks, a diverged run ends there as under our tools (exit status and
message, no traceback; tests/test_engine/test_disk_full.py does the same for
a full disk), and a base config's `model.pretrained` is named before
anything is downloaded."""
import importlib.util
import re
from pathlib import Path

import torch
from mmengine.runner import CheckpointLoader

import mmunirep  # noqa: F401  (lets torch.load read Runner checkpoints)
from mmunirep.engine.training_stop import EXIT_DIVERGED
from tests.test_tools.conftest import det_options, run_tool, seg_options

SEG = 'configs/demo/upernet_unireplknet_a_shapes.py'
DET = 'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py'


def upstream_tool(package, name):
    spec = importlib.util.find_spec(package)
    path = Path(spec.submodule_search_locations[0]) / '.mim' / 'tools' / name
    assert path.is_file(), path
    return path


def assert_no_custom_imports(config):
    text = Path(config).read_text()
    assert 'custom_imports' not in text


def assert_our_backbone_trained(checkpoint):
    state = CheckpointLoader.load_checkpoint(str(checkpoint))['state_dict']
    assert 'backbone.stages.3.1.dwconv.lk_origin.weight' in state
    assert 'backbone.stages.3.1.dwconv.dil_conv_k5_1.weight' in state


#: No validation while training: tools/test.py evaluates right after.
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


def test_mmseg_train_and_test_tools(shapes_data, seg_trained, tmp_path):
    assert_no_custom_imports(SEG)
    options = seg_options(shapes_data, iters=2) + [
        'default_hooks.logger.interval=1', 'test_dataloader.dataset.indices=2'
    ]
    result = run_tool(upstream_tool('mmseg', 'train.py'), SEG, '--work-dir',
                      tmp_path, *options, *NO_VAL)
    assert 'Iter(train) [2/2]' in result.stdout + result.stderr
    assert_our_backbone_trained(tmp_path / 'iter_2.pth')
    result = run_tool(upstream_tool('mmseg', 'test.py'), SEG,
                      tmp_path / 'iter_2.pth', '--work-dir', tmp_path / 'test',
                      *options)
    assert 'mIoU' in result.stdout + result.stderr
    # mmseg's own test.py refuses a checkpoint that does not fit the config
    # (here: re-parameterized, under the training config) instead of
    # evaluating a partly loaded model; the main job's deploy.pth
    deploy = seg_trained[0] / 'deploy.pth'
    result = run_tool(upstream_tool('mmseg', 'test.py'), SEG, deploy,
                      '--work-dir', tmp_path / 'test_deploy', *options,
                      expect_ok=False)
    assert result.returncode != 0
    assert 'inference (deploy) structure' in result.stderr
    assert 'configs/demo/deploy/upernet_unireplknet_a_shapes.py' in \
        result.stderr
    assert not list((tmp_path / 'test_deploy').rglob('*.json'))


def test_mmdet_train_and_test_tools(shapes_data, tmp_path):
    assert_no_custom_imports(DET)
    # 4 training images at batch 2: two iterations; tools/test.py on 2
    options = det_options(shapes_data) + [
        'train_dataloader.dataset.indices=4',
        'test_dataloader.dataset.indices=2', 'default_hooks.logger.interval=1'
    ]
    result = run_tool(upstream_tool('mmdet', 'train.py'), DET, '--work-dir',
                      tmp_path, *options, *NO_VAL)
    assert 'Epoch(train) [1][2/2]' in result.stdout + result.stderr
    assert_our_backbone_trained(tmp_path / 'epoch_1.pth')
    result = run_tool(upstream_tool('mmdet', 'test.py'), DET,
                      tmp_path / 'epoch_1.pth', '--work-dir',
                      tmp_path / 'test', *options)
    log = result.stdout + result.stderr
    assert 'bbox_mAP' in log and 'segm_mAP' in log


#: mmseg's fpn_r50 base with our backbone swapped in, forgetting
#: `model.pretrained=None`: the base's ResNet weights reach UniRepLKNet.
FPN_R50_WITHOUT_PRETRAINED_NONE = '''
_base_ = [
    'mmseg::_base_/models/fpn_r50.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
model = dict(
    backbone=dict(_delete_=True, type='mmunirep.UniRepLKNet', arch='a'),
    neck=dict(in_channels=[40, 80, 160, 320]))
'''


def test_mmseg_train_names_the_base_configs_model_pretrained(
        shapes_data, tmp_path):
    """mmseg's own tools/train.py stops before any download, naming the
    cause (the base's model.pretrained) and the fix (model.pretrained=None),
    instead of "r50.pth shares no key with UniRepLKNet"."""
    config = tmp_path / 'fpn_unireplknet_a.py'
    config.write_text(FPN_R50_WITHOUT_PRETRAINED_NONE)
    cache = tmp_path / 'torch_home'
    data = [f'{split}_dataloader.dataset.data_root={shapes_data}/ade'
            for split in ('train', 'val', 'test')]
    result = run_tool(upstream_tool('mmseg', 'train.py'), config,
                      '--work-dir', tmp_path / 'work', '--cfg-options',
                      *data, expect_ok=False,
                      env=dict(TORCH_HOME=str(cache)))
    err = result.stderr
    assert "UniRepLKNet got pretrained='open-mmlab://resnet50_v1c'" in err
    assert "hands the model-level `model.pretrained` to the backbone" in err
    assert 'model.pretrained=None' in err
    assert 'nothing was downloaded' in err and not cache.exists()
    assert 'shares no key' not in err


def finite_checkpoints(work_dir):
    """The checkpoint files of a work dir, each checked to hold only finite
    tensors."""
    names = sorted(p.name for p in Path(work_dir).glob('*.pth'))
    for name in names:
        state = CheckpointLoader.load_checkpoint(
            str(Path(work_dir) / name))['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), name
    return names


def test_lr_1e6_stops_the_segmentation_demo_under_mmseg_train(
        shapes_data, tmp_path):
    """The issue's run: the demo at lr 1e6 for 12 iterations, validated and
    saved at the end with the best mIoU kept, through mmseg's own
    tools/train.py. It stops when the loss is NaN, with exit status 65 and
    no traceback, and leaves no NaN checkpoint and no "best"."""
    options = seg_options(shapes_data, iters=12)
    options += ['optim_wrapper.optimizer.lr=1e6',
                'default_hooks.checkpoint.interval=4',
                'default_hooks.logger.interval=1']
    result = run_tool(upstream_tool('mmseg', 'train.py'), SEG,
                      '--work-dir', tmp_path, *options, expect_ok=False)
    log = result.stdout + result.stderr
    assert result.returncode == EXIT_DIVERGED, log[-3000:]
    assert 'Traceback' not in log
    found = re.search(r'Training diverged at iteration (\d+): the loss term '
                      r'(\S+) is (nan|inf)', log)
    assert found, log[-3000:]
    assert int(found.group(1)) <= 12
    assert re.search(r'lr [0-9.e+]+ at that iteration', log)
    assert 'Try a lower lr' in log
    assert not list(tmp_path.glob('best_*'))
    assert 'iter_12.pth' not in finite_checkpoints(tmp_path)
