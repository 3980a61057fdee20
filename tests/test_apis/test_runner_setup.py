# Copyright (c) mmunirep contributors. All rights reserved.
"""The config edits behind the tools' command-line options."""
import pytest
import torch
from mmengine.config import Config

from mmunirep.apis import (adapt_distributed_to_cpu, add_deploy_hook,
                           add_results_dump, enable_amp, enable_auto_scale_lr,
                           enable_tta, enable_visualization, load_config,
                           set_resume, set_work_dir)
from mmunirep.utils import CheckpointError

SEG = 'configs/upernet_unireplknet_t_ade20k.py'
DET = 'configs/cascade_mask_rcnn_unireplknet_t_coco.py'
CLS = 'configs/unireplknet_t_in1k.py'


def test_work_dir_priority():
    cfg = Config(dict(default_scope='mmseg'))
    set_work_dir(cfg, None, 'configs/x/my_config.py')
    assert cfg.work_dir == './work_dirs/my_config'
    set_work_dir(cfg, '/tmp/here', 'configs/x/my_config.py')
    assert cfg.work_dir == '/tmp/here'


def test_amp_and_auto_scale_lr():
    cfg = load_config(SEG)
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.constructor == \
        'mmunirep.UniRepLKNetLayerDecayConstructor'
    enable_amp(cfg)  # already on: unchanged
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)
    bad = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper')))
    with pytest.raises(ValueError, match="needs optim_wrapper.type"):
        enable_amp(bad)
    with pytest.raises(ValueError, match='base_batch_size'):
        enable_auto_scale_lr(Config(dict()))


def test_resume_modes(tmp_path):
    cfg = Config(dict(load_from='x.pth', work_dir=str(tmp_path)))
    set_resume(cfg, 'auto')  # nothing to resume: start from the beginning
    assert not cfg.resume and cfg.load_from is None
    ckpt = tmp_path / 'iter_8.pth'
    torch.save(dict(meta=dict(iter=8), state_dict={'w': torch.ones(1)},
                    message_hub={}), ckpt)
    set_resume(cfg, 'auto')
    assert cfg.resume and cfg.load_from == str(ckpt)
    cfg = Config(dict(work_dir=str(tmp_path / 'other')))
    set_resume(cfg, str(ckpt))
    assert cfg.resume and cfg.load_from == str(ckpt)
    with pytest.raises(CheckpointError, match='iter_9.pth not found'):
        set_resume(cfg, str(tmp_path / 'iter_9.pth'))


def test_cpu_distributed_replaces_syncbn_and_uses_gloo(monkeypatch):
    import torch
    import torch.distributed as dist
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(dist, 'is_initialized', lambda: True)
    cfg = load_config(DET)
    assert not adapt_distributed_to_cpu(cfg, 'none')
    assert adapt_distributed_to_cpu(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert all(h.norm_cfg.type == 'BN' for h in cfg.model.roi_head.bbox_head)
    assert cfg.model_wrapper_cfg.device_ids is None
    assert 'SyncBN' not in str(cfg.model)
    with pytest.raises(RuntimeError, match='pytorch launcher'):
        adapt_distributed_to_cpu(load_config(DET), 'slurm')


@pytest.mark.parametrize('config, key', [(DET, 'test_out_dir'),
                                         (CLS, 'out_dir')])
def test_show_dir_per_task(config, key):
    cfg = load_config(config)
    enable_visualization(cfg, False, 'vis', 1)
    hook = cfg.default_hooks.visualization
    assert hook[key] == 'vis'
    assert hook.get('draw', hook.get('enable')) is True
    assert hook.interval == 1  # every test image


def test_show_dir_segmentation_goes_to_the_visualizer():
    cfg = load_config(SEG)
    enable_visualization(cfg, True, 'vis', 0.5)
    assert cfg.visualizer.save_dir == 'vis'
    assert cfg.default_hooks.visualization.draw
    assert cfg.default_hooks.visualization.wait_time == 0.5
    assert cfg.default_hooks.visualization.interval == 1


def test_tta_dump_and_deploy_hook():
    cfg = load_config(SEG)
    model = cfg.model
    enable_tta(cfg)
    assert cfg.model.type == 'SegTTAModel' and cfg.model.module == model
    assert cfg.test_dataloader.dataset.pipeline[1].type == 'TestTimeAug'
    add_results_dump(cfg, 'out.pkl')
    assert cfg.test_evaluator[-1] == dict(type='DumpResults',
                                          out_file_path='out.pkl')
    with pytest.raises(ValueError, match='.pkl'):
        add_results_dump(cfg, 'out.json')
    add_deploy_hook(cfg)
    assert cfg.custom_hooks[-1].type == 'mmunirep.SwitchToDeployHook'
    det = load_config(DET)
    add_results_dump(det, 'det.pkl')
    assert det.test_evaluator[-1].type == 'DumpDetResults'
    with pytest.raises(ValueError, match='tta_model'):
        enable_tta(load_config(CLS))
