# Copyright (c) mmunirep contributors. All rights reserved.
"""Config edits shared by tools/train.py and tools/test.py.

Each function applies one command-line option the way mmdet, mmseg and
mmpretrain's own tools do, so the arguments mean the same thing for every
task.
"""
import datetime
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from mmunirep.utils import CheckpointError, iter_config_nodes, task_of
from .resume import find_resumable_checkpoint, read_resume_point

#: The visualization hook and test-result dump of each task.
VIS_HOOK_OUT_KEY = dict(mmdet='test_out_dir', mmseg=None,
                        mmpretrain='out_dir')
DUMP_METRIC = dict(mmdet='DumpDetResults', mmseg='DumpResults',
                   mmpretrain='DumpResults')


def set_work_dir(cfg: Config, work_dir: Optional[str],
                 config_path: str) -> None:
    """``--work-dir`` > the config's ``work_dir`` > ./work_dirs/<config>."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    """``--amp``: mixed precision through MMEngine's AmpOptimWrapper."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        print_log('AMP is already enabled in the config', logger='current')
        return
    if wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
        raise ValueError(f"--amp needs optim_wrapper.type 'OptimWrapper', "
                         f"got {wrapper.type!r}")
    wrapper.type = 'AmpOptimWrapper'
    wrapper.loss_scale = 'dynamic'


def enable_auto_scale_lr(cfg: Config) -> None:
    """``--auto-scale-lr``: scale lr by (real batch) / base_batch_size."""
    if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
            cfg.auto_scale_lr:
        raise ValueError(
            "--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) "
            'in the config')
    cfg.auto_scale_lr.enable = True


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """``--resume`` (the newest complete checkpoint of the work dir) or
    ``--resume PATH``.

    Without a path, missing and partial files are skipped (each with a
    warning; see :func:`~mmunirep.apis.resume.find_resumable_checkpoint`);
    with none left, training starts from the beginning and says so.

    Raises:
        CheckpointError: ``PATH`` is not a complete training checkpoint.
    """
    if resume is None:
        return
    cfg.resume = True
    if resume != 'auto':
        _, problem = read_resume_point(resume)
        if problem is not None:
            raise CheckpointError(f'--resume {resume}: {problem}')
        cfg.load_from = resume
        return
    path, skipped = find_resumable_checkpoint(cfg.work_dir)
    for reason in skipped:
        print_log(f'--resume: skipped {reason}', logger='current', level=30)
    cfg.load_from = path
    if path is None:
        cfg.resume = False
        print_log(f'--resume: no complete checkpoint in {cfg.work_dir}; '
                  'training starts from the beginning', logger='current',
                  level=30 if skipped else 20)
    else:
        print_log(f'--resume: continuing from {path}', logger='current')


def _replace_sync_bn(node) -> int:
    """Turn every ``type='SyncBN'`` norm config under ``node`` into BN."""
    replaced = 0
    for _, child in iter_config_nodes(node):
        if child.get('type') in ('SyncBN', 'MMSyncBN'):
            child['type'] = 'BN'
            replaced += 1
    return replaced


def adapt_distributed_to_cpu(cfg: Config, launcher: str) -> bool:
    """Let a multi-process run work on a machine without CUDA.

    Uses the gloo backend instead of NCCL, BatchNorm instead of SyncBN (SyncBN
    needs GPUs: each process then normalises with its own batch statistics)
    and CPU DistributedDataParallel. Says what it changed.

    Returns:
        bool: Whether anything was changed.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'No CUDA device: CPU multi-process runs support the pytorch '
            f"launcher (tools/dist_train.sh, dist_test.sh), not {launcher!r}")
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if not dist.is_initialized():
        # MMEngine's init_dist calls torch.cuda.set_device, which fails
        # without a GPU; a group that already exists is used as it is
        timeout = cfg.env_cfg.dist_cfg.get('timeout')
        dist.init_process_group(
            backend='gloo', **({} if timeout is None else dict(
                timeout=datetime.timedelta(seconds=timeout))))
    replaced = _replace_sync_bn(cfg.model)
    cfg.pop('sync_bn', None)
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.device_ids = None
    cfg.model_wrapper_cfg = wrapper
    print_log(
        f'No CUDA device: distributed {launcher} run on the CPU with the '
        f'gloo backend; {replaced} SyncBN layer config(s) changed to BN '
        '(statistics per process).', logger='current', level=30)
    return True


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> None:
    """``--show`` / ``--show-dir`` through the task's visualization hook."""
    if not (show or show_dir):
        return
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError('--show/--show-dir need a visualization hook in '
                         'default_hooks')
    task = task_of(cfg)
    hook['enable' if task == 'mmpretrain' else 'draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        # every test image, as mmdet's hook does (mmseg's and mmpretrain's
        # draw one in `interval`)
        hook['interval'] = 1
        key = VIS_HOOK_OUT_KEY[task]
        if key is None:  # mmseg saves through the visualizer
            cfg.visualizer['save_dir'] = show_dir
        else:
            hook[key] = show_dir


def enable_tta(cfg: Config) -> None:
    """``--tta``: the config's test-time augmentation pipeline and model."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ValueError(f'--tta needs tta_model and tta_pipeline in the '
                         f'config; {cfg.filename} has none')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def add_results_dump(cfg: Config, out: str) -> None:
    """``--out FILE``: also dump the raw predictions to a pickle file."""
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl/.pickle file, got {out}')
    dump = dict(type=DUMP_METRIC[task_of(cfg)], out_file_path=out)
    evaluator = cfg.test_evaluator
    cfg.test_evaluator = list(evaluator) + [dump] if isinstance(
        evaluator, (list, tuple)) else [evaluator, dump]


def add_custom_hook(cfg: Config, hook_type: str) -> None:
    """Append ``dict(type=hook_type)`` to the config's custom hooks."""
    hooks = list(cfg.get('custom_hooks', []))
    hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def add_deploy_hook(cfg: Config) -> None:
    """``--deploy``: re-parameterize after loading, before testing."""
    add_custom_hook(cfg, 'mmunirep.SwitchToDeployHook')


def add_strict_load_hook(cfg: Config) -> None:
    """Load ``load_from`` strictly, structure-aware
    (:class:`~mmunirep.engine.StrictCheckpointLoadHook`), as
    ``default_hooks.strict_load``: our base configs set it there already,
    other configs get it once."""
    hooks = dict(cfg.get('default_hooks') or {})
    hooks['strict_load'] = dict(type='mmunirep.StrictCheckpointLoadHook')
    cfg.default_hooks = hooks


def enable_test_precision(cfg: Config, dtype: str) -> None:
    """``--dtype bf16|fp16``: test under autocast (MMEngine's ``fp16`` test
    loop flag; bfloat16 on the CPU, float16 or bfloat16 on a GPU).

    Raises:
        ValueError: float16 without a GPU.
    """
    if dtype == 'fp32':
        return
    on_gpu = torch.cuda.is_available()
    if dtype == 'fp16' and not on_gpu:
        raise ValueError('--dtype fp16 needs a GPU; on the CPU use --dtype '
                         'bf16 (fast on CPUs with AVX-512 BF16 or AMX)')
    if dtype == 'bf16' and on_gpu:
        torch.set_autocast_dtype('cuda', torch.bfloat16)
    cfg.test_cfg = cfg.get('test_cfg') or ConfigDict()
    cfg.test_cfg.fp16 = True
    print_log(f'testing under {dtype} autocast', logger='current')
