# Copyright (c) mmunirep contributors. All rights reserved.
"""Fixtures for tests that run the tools as users do (subprocesses)."""
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DemoJob:
    """What ``MMUNIREP_DEMO_QUICK=1 bash tools/run_demo.sh`` left.

    Attributes:
        demo (Path): MMUNIREP_DEMO_DIR: ``seg/`` and ``det/`` (work dir of
            the training with its checkpoint, ``deploy.pth``,
            ``test_trained/`` and ``test_deploy/`` metrics, figures) and
            ``summary.json``.
        data (Path): MMUNIREP_DEMO_DATA, the shapes dataset it generated
            (the same files as ``shapes_data``: generation is
            deterministic).
        out (str): The job's standard output.
        err (str): Its standard error.
    """
    demo: Path
    data: Path
    out: str
    err: str


@pytest.fixture(scope='session')
def demo_job(tmp_path_factory):
    """The main job in quick mode, run once for the session: it trains the
    two demo models every test of a trained demo model uses (segmentation
    with tools/dist_train.sh on 2 CPU processes, 4 iterations; detection
    with tools/train.py, one epoch of 4 iterations with EMA and layer decay,
    starting from that segmentation backbone), re-parameterizes and
    evaluates both. Read-only: a test that changes a file copies it
    first."""
    root = tmp_path_factory.mktemp('demo_job')
    demo, data = root / 'demo', root / 'data'
    result = run_tool('tools/run_demo.sh', timeout=1500, env=dict(
        MMUNIREP_DEMO_QUICK='1', MMUNIREP_DEMO_DIR=str(demo),
        MMUNIREP_DEMO_DATA=str(data), PORT=str(free_port())))
    return DemoJob(demo, data, result.stdout, result.stderr)


def training_log(work_dir):
    """The log file a Runner wrote while training in ``work_dir``
    (``<timestamp>/<timestamp>.log``; test runs write theirs deeper)."""
    logs = sorted(Path(work_dir).glob('*/*.log'))
    assert len(logs) == 1, logs
    return logs[0].read_text()


@pytest.fixture(scope='session')
def seg_trained(demo_job):
    """The segmentation demo after 4 iterations on 2 gloo processes (the
    main job's): ``(work_dir, log)``; ``iter_4.pth``, ``deploy.pth``, and
    ``test_trained`` / ``test_deploy`` metrics in ``work_dir``."""
    work_dir = demo_job.demo / 'seg'
    return work_dir, training_log(work_dir)


@pytest.fixture(scope='session')
def det_trained(demo_job):
    """The detection demo after one epoch (4 iterations) with EMA and layer
    decay (the main job's): ``(work_dir, log)``; ``epoch_1.pth``,
    ``deploy.pth`` (EMA weights), and ``test_trained`` / ``test_deploy``
    metrics in ``work_dir``."""
    work_dir = demo_job.demo / 'det'
    return work_dir, training_log(work_dir)
