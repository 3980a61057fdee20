# Copyright (c) mmunirep contributors. All rights reserved.
"""Fixtures for tests that run the tools as users do (subprocesses)."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args, expect_ok=True, env=None, timeout=600):
    """Run ``python <args>`` (or ``bash <script>``) from the repository root.

    Returns:
        subprocess.CompletedProcess: With ``stdout`` and ``stderr`` text.
    """
    command = ['bash', *args] if str(args[0]).endswith('.sh') \
        else [sys.executable, *args]
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    result = subprocess.run([str(a) for a in command], cwd=ROOT, text=True,
                            capture_output=True, env=full_env,
                            timeout=timeout)
    if expect_ok:
        assert result.returncode == 0, (
            f'{" ".join(map(str, command))} failed:\n{result.stdout[-3000:]}'
            f'\n{result.stderr[-5000:]}')
    else:
        assert result.returncode != 0, result.stdout[-2000:]
    return result


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def read_metrics(work_dir):
    with open(Path(work_dir) / 'test_metrics.json') as f:
        return json.load(f)['metrics']


@pytest.fixture(scope='session')
def shapes_data(tmp_path_factory):
    """A tiny shapes dataset (8 train / 4 val) in ADE20K and COCO layouts."""
    out = tmp_path_factory.mktemp('shapes')
    run_tool('tools/make_demo_data.py', '--out', out, '--num-train', 8,
             '--num-val', 4)
    return out


def seg_options(data, iters=4):
    """--cfg-options for the segmentation demo config on ``data``."""
    opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            'default_hooks.checkpoint.interval=2',
            'train_dataloader.batch_size=2']
    opts += [f'{split}_dataloader.dataset.data_root={data}/ade'
             for split in ('train', 'val', 'test')]
    return ['--cfg-options', *opts]


def det_options(data):
    """--cfg-options for the detection demo config on ``data`` (1 epoch of
    4 iterations, backbone from scratch)."""
    ann = f'{data}/coco/annotations/instances_val2017.json'
    # from scratch: the demo's backbone checkpoint comes from the main job
    opts = ['model.backbone.init_cfg=None',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1',
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
    opts += [f'{split}_dataloader.dataset.data_root={data}/coco/'
             for split in ('train', 'val', 'test')]
    return ['--cfg-options', *opts]


SEG_DEMO = 'configs/demo/upernet_unireplknet_a_shapes.py'
DET_DEMO = 'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py'
#: The segmentation demo trained with SyncBN configs on one CPU process.
SEG_SYNC_BN = ['model.backbone.norm_cfg.type=SyncBN',
               'model.decode_head.norm_cfg.type=SyncBN',
               'model.auxiliary_head.norm_cfg.type=SyncBN']


@pytest.fixture(scope='session')
def seg_trained(shapes_data, tmp_path_factory):
    """The segmentation demo after 4 iterations (SyncBN configs reverted to
    BN on one CPU process): ``(work_dir, log)``."""
    work_dir = tmp_path_factory.mktemp('seg')
    result = run_tool('tools/train.py', SEG_DEMO, '--work-dir', work_dir,
                      *seg_options(shapes_data), *SEG_SYNC_BN)
    return work_dir, result.stdout + result.stderr


@pytest.fixture(scope='session')
def det_trained(shapes_data, tmp_path_factory):
    """The detection demo after one epoch (4 iterations) with EMA and layer
    decay: ``(work_dir, log)``."""
    work_dir = tmp_path_factory.mktemp('det')
    result = run_tool('tools/train.py', DET_DEMO, '--work-dir', work_dir,
                      *det_options(shapes_data))
    return work_dir, result.stdout + result.stderr
