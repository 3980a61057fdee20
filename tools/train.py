# Copyright (c) mmunirep contributors. All rights reserved.
"""Train any mmunirep config (detection, segmentation or classification).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--check-data] [--cfg-options key=value ...]
        [--strict-options]
    tools/dist_train.sh CONFIG GPUS [same options]

The arguments are mmdet's / mmseg's / mmpretrain's. ``--resume`` without a
checkpoint takes the newest complete checkpoint of the work dir, skipping
missing or partial files (and says so). ``--check-data`` checks every file
of the train and val splits first (tools/check_dataset.py). Without CUDA, a
distributed launch runs on the CPU with the gloo backend (and says so).

A run that stops itself exits with a status that says why
(docs/troubleshooting.md, "Long runs"): 65 diverged, 74 disk full, 75
preempted (SIGTERM / SIGUSR1; a checkpoint was saved, continue with
``--resume``).
"""
import argparse

from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.apis import (adapt_distributed_to_cpu, enable_amp,
                           enable_auto_scale_lr, load_config, set_resume,
                           set_work_dir)
from mmunirep.apis.cli import (add_runner_arguments, export_local_rank,
                               releasing_process_group, report_training_stop,
                               report_user_errors)
from mmunirep.apis.dataset_check import (DatasetCheckError, check_dataset,
                                         name_bad_annotation_files)
from mmunirep.env_check import require_mmcv_ops


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the newest complete checkpoint in the work dir, or '
        'from the given checkpoint')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (total batch) / '
                        'auto_scale_lr.base_batch_size')
    parser.add_argument('--check-data', action='store_true',
                        help='check every image and annotation of the train '
                        'and val splits before training')
    add_runner_arguments(parser)
    args = parser.parse_args()
    export_local_rank(args)
    return args


def main():
    args = parse_args()
    with report_user_errors():
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
        # mmdet / mmseg need mmcv's compiled ops (any other scope runs)
        require_mmcv_ops(cfg.get('default_scope'))
        cfg.launcher = args.launcher
        set_work_dir(cfg, args.work_dir, args.config)
        if args.amp:
            enable_amp(cfg)
        if args.auto_scale_lr:
            enable_auto_scale_lr(cfg)
        set_resume(cfg, args.resume)
        if args.check_data:
            problems = check_dataset(cfg, ('train', 'val'))
            if problems:
                raise DatasetCheckError(problems)
            print_log('--check-data: the train and val files look fine',
                      logger='current')
    adapt_distributed_to_cpu(cfg, args.launcher)
    with releasing_process_group():
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
            else RUNNERS.build(cfg)
        with report_user_errors(), report_training_stop(), \
                name_bad_annotation_files(cfg, runner):
            runner.train()


if __name__ == '__main__':
    main()
