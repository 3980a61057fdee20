# Copyright (c) mmunirep contributors. All rights reserved.
"""Test (evaluate) a checkpoint of any mmunirep config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl]
        [--show] [--show-dir DIR] [--tta] [--deploy] [--cfg-options ...]
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [same options]

``--deploy`` loads a training-structure checkpoint and re-parameterizes the
model before testing; a checkpoint converted by tools/reparameterize.py goes
with the matching configs/deploy/ config instead. Loading is strict and
structure-aware (mmunirep.StrictCheckpointLoadHook): a training checkpoint
under a deploy config is re-parameterized on the fly, a deploy checkpoint
under a training config is refused with the config to use, and any other key
mismatch is an error; nothing is evaluated then. The metrics are also
written to WORK_DIR/test_metrics.json.
"""
import argparse
import os.path as osp

from mmengine.fileio import dump
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.apis import (adapt_distributed_to_cpu, add_deploy_hook,
                           add_results_dump, add_strict_load_hook,
                           enable_test_precision, enable_tta,
                           enable_visualization, load_config, set_work_dir)
from mmunirep.apis.cli import (add_runner_arguments, export_local_rank,
                               releasing_process_group, report_user_errors)
from mmunirep.apis.dataset_check import name_bad_annotation_files
from mmunirep.checkpoints import check_checkpoint_file
from mmunirep.env_check import require_mmcv_ops


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument('--out', help='dump the predictions to a .pkl file')
    parser.add_argument('--show', action='store_true',
                        help='show the predictions in a window')
    parser.add_argument('--show-dir',
                        help='save the drawn predictions in this directory '
                        '(under the work dir for mmdet/mmseg, as they do)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds per image with --show')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (multi-scale + flip)')
    parser.add_argument('--dtype', default='fp32',
                        choices=['fp32', 'bf16', 'fp16'],
                        help='inference precision: bf16 / fp16 autocast '
                        '(bf16 on the CPU, either on a GPU)')
    parser.add_argument('--deploy', action='store_true',
                        help='re-parameterize the model after loading a '
                        'training-structure checkpoint')
    add_runner_arguments(parser)
    args = parser.parse_args()
    export_local_rank(args)
    return args


def main():
    args = parse_args()
    with report_user_errors():
        check_checkpoint_file(args.checkpoint)
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
        # mmdet / mmseg need mmcv's compiled ops (any other scope runs)
        require_mmcv_ops(cfg.get('default_scope'))
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    add_strict_load_hook(cfg)
    enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        enable_tta(cfg)
    if args.out:
        add_results_dump(cfg, args.out)
    if args.deploy:
        add_deploy_hook(cfg)
    with report_user_errors():
        enable_test_precision(cfg, args.dtype)
    adapt_distributed_to_cpu(cfg, args.launcher)
    with releasing_process_group():
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
            else RUNNERS.build(cfg)
        with report_user_errors(), name_bad_annotation_files(cfg, runner):
            metrics = runner.test()
    if runner.rank == 0:
        # the numbers, machine-readable, next to the logs
        path = osp.join(cfg.work_dir, 'test_metrics.json')
        dump(dict(config=args.config, checkpoint=args.checkpoint,
                  deploy=args.deploy, tta=args.tta, dtype=args.dtype,
                  metrics=metrics), path)
        runner.logger.info(f'metrics written to {path}')


if __name__ == '__main__':
    main()
