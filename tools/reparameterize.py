# Copyright (c) mmunirep contributors. All rights reserved.
"""Convert a training checkpoint of any task into the inference structure.

    python tools/reparameterize.py CONFIG CHECKPOINT OUT [--raw-weights]

CONFIG is the training config the checkpoint was trained with; OUT loads
with strict keys into the matching deploy config (configs/deploy/...), e.g.

    python tools/reparameterize.py configs/upernet_unireplknet_t_ade20k.py \
        work_dirs/upernet_unireplknet_t_ade20k/iter_160000.pth deploy.pth
    python tools/test.py configs/deploy/upernet_unireplknet_t_ade20k.py \
        deploy.pth

Checkpoints written with EMA (mmengine's EMAHook) hold the averaged weights in
``state_dict`` and the raw ones in ``ema_state_dict``: the averaged weights
are converted by default, ``--raw-weights`` converts the raw ones. ``meta``
is kept; optimizer, scheduler and message-hub state are dropped.

OUT is written atomically (a temporary file renamed when complete) and must
not be CHECKPOINT, by name or through a symbolic or hard link.
"""
import argparse
import os.path as osp

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.apis.deploy_conversion import (inference_weights,
                                             reparameterized_model)
from mmunirep.checkpoints import read_checkpoint
from mmunirep.utils import atomic_torch_save, check_output_path


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the training config')
    parser.add_argument('checkpoint', help='a training checkpoint')
    parser.add_argument('out', help='where to write the deploy checkpoint')
    parser.add_argument('--raw-weights', action='store_true',
                        help='convert the raw (not EMA) weights of a '
                        'checkpoint written with EMA')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_user_errors():
        check_output_path(args.out, [args.checkpoint])
        checkpoint = read_checkpoint(args.checkpoint)
        state, source = inference_weights(checkpoint, args.raw_weights)
        before = sum(v.numel() for k, v in state.items()
                     if not k.endswith(('running_mean', 'running_var',
                                        'num_batches_tracked')))
        try:
            model = reparameterized_model(args.config, state,
                                          args.checkpoint, args.cfg_options,
                                          args.strict_options)
        except ValueError as err:  # a deploy config, or nothing to convert
            raise SystemExit(f'error: {err}') from None
    after = sum(p.numel() for p in model.parameters())
    meta = dict(checkpoint.get('meta', {})) if 'state_dict' in checkpoint \
        else {}
    meta['reparameterized'] = dict(
        source=osp.abspath(args.checkpoint), weights=source,
        config=args.config)
    atomic_torch_save({'meta': meta, 'state_dict': model.state_dict()},
                      args.out)
    print(f'{args.checkpoint} ({source}, {before / 1e6:.2f}M params) -> '
          f'{args.out} (inference structure, {after / 1e6:.2f}M params)')


if __name__ == '__main__':
    main()
