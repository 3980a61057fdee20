# Copyright (c) mmunirep contributors. All rights reserved.
"""Command-line arguments every runner tool shares."""
import argparse
import os

from mmengine.config import DictAction


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank/--local_rank``,
    as mmdet / mmseg / mmpretrain's tools define them."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value (e.g. '
        'model.backbone.init_cfg=None)')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (or --local_rank)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Make ``LOCAL_RANK`` visible to MMEngine under every launcher."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
