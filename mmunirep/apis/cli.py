# Copyright (c) mmunirep contributors. All rights reserved.
"""Command-line arguments and error reporting every tool shares."""
import argparse
import contextlib
import os

import torch.distributed as dist
from mmengine.config import DictAction

from mmunirep.engine.training_stop import TrainingStopped, record_exit_status
from mmunirep.utils import (CheckpointError, ConfigOptionError, DiskFullError,
                            OutputPathError)
from .dataset_check import DatasetCheckError

#: Errors caused by what the user passed (files, options, data) or by the
#: machine (a full disk); tools report them as ``error: <message>`` with
#: exit status 1, no traceback.
USER_ERRORS = (FileNotFoundError, CheckpointError, OutputPathError,
               ConfigOptionError, DatasetCheckError, DiskFullError)


@contextlib.contextmanager
def report_user_errors():
    """Turn :data:`USER_ERRORS` raised in the block into ``SystemExit``
    with the message (exit status 1)."""
    try:
        yield
    except USER_ERRORS as err:
        raise SystemExit(f'error: {err}') from None


@contextlib.contextmanager
def report_training_stop():
    """Pass the status of a run that stopped itself (diverged, preempted,
    disk full) to ``tools/dist_train.sh``, which torchrun would otherwise
    turn into 1 (see :func:`~mmunirep.engine.training_stop.
    record_exit_status`)."""
    try:
        yield
    except TrainingStopped as stop:
        record_exit_status(stop.status)
        raise


@contextlib.contextmanager
def releasing_process_group():
    """Destroy the default process group when the block ends, however it
    ends: a gloo or NCCL group left to the interpreter's shutdown can abort
    a process whose run succeeded ("terminate called without an active
    exception"), and its exit status with it."""
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def add_cfg_options_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options`` (as mmdet / mmseg / mmpretrain's tools define it)
    and ``--strict-options``."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value (e.g. '
        'model.backbone.init_cfg=None); a key that adds a new top-level or '
        'second-level key gets a warning with the nearest existing keys')
    parser.add_argument(
        '--strict-options', action='store_true',
        help='refuse --cfg-options keys that are not in the config (typos) '
        'instead of warning')


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options`` / ``--strict-options``, ``--launcher`` and
    ``--local-rank/--local_rank``, as mmdet / mmseg / mmpretrain's tools
    define them."""
    add_cfg_options_arguments(parser)
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (or --local_rank)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Make ``LOCAL_RANK`` visible to MMEngine under every launcher."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
