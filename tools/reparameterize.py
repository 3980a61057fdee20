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
"""
import argparse
import os.path as osp
import sys

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
import torch
from mmengine.config import DictAction
from mmengine.runner import save_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from mmunirep.apis import build_model, load_config
from mmunirep.models import reparameterize_model
from mmunirep.utils import compare_state_dicts


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the training config')
    parser.add_argument('checkpoint', help='a training checkpoint')
    parser.add_argument('out', help='where to write the deploy checkpoint')
    parser.add_argument('--raw-weights', action='store_true',
                        help='convert the raw (not EMA) weights of a '
                        'checkpoint written with EMA')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def select_state_dict(checkpoint: dict, raw_weights: bool) -> tuple:
    """The weights to convert and a description of where they came from."""
    if 'state_dict' not in checkpoint:
        return checkpoint, 'plain state dict'
    if 'ema_state_dict' not in checkpoint:
        if raw_weights:
            print('note: the checkpoint has no EMA state; --raw-weights has '
                  'nothing to choose', file=sys.stderr)
        return checkpoint['state_dict'], 'state_dict (no EMA)'
    if not raw_weights:
        return checkpoint['state_dict'], 'EMA weights'
    raw = {k[len('module.'):]: v
           for k, v in checkpoint['ema_state_dict'].items()
           if k.startswith('module.')}
    return raw, 'raw weights (ema_state_dict)'


def check_match(model: torch.nn.Module, state: dict, config: str,
                checkpoint: str) -> None:
    """Raise a clear error when the checkpoint does not fit the config."""
    diff = compare_state_dicts(model.state_dict(), state)
    if not diff:
        return
    hint = ' Use the config the checkpoint was trained with.'
    if any('dil_conv' in k or 'origin_bn' in k for k in diff.missing):
        hint = (' The checkpoint looks re-parameterized already: use it with '
                'the deploy config directly.')
    raise SystemExit(f'error: {checkpoint} does not match {config}: '
                     f'{diff.describe()}.{hint}')


def main():
    args = parse_args()
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise SystemExit('error: OUT must differ from CHECKPOINT (the '
                         'training checkpoint is kept)')
    cfg = load_config(args.config, args.cfg_options)
    if cfg.model.get('backbone', {}).get('deploy'):
        raise SystemExit(f'error: {args.config} already builds the inference '
                         'structure; pass the training config')
    if cfg.model.get('backbone', {}).get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint,
                                                  map_location='cpu')
    state, source = select_state_dict(checkpoint, args.raw_weights)
    check_match(model, state, args.config, args.checkpoint)
    model.load_state_dict(state, strict=True)
    before = sum(p.numel() for p in model.parameters())
    if reparameterize_model(model) == 0:
        raise SystemExit(f'error: nothing in {args.config} can be '
                         're-parameterized')
    after = sum(p.numel() for p in model.parameters())
    meta = dict(checkpoint.get('meta', {})) if 'state_dict' in checkpoint \
        else {}
    meta['reparameterized'] = dict(
        source=osp.abspath(args.checkpoint), weights=source,
        config=args.config)
    save_checkpoint({'meta': meta, 'state_dict': model.state_dict()},
                    args.out)
    print(f'{args.checkpoint} ({source}, {before / 1e6:.2f}M params) -> '
          f'{args.out} (inference structure, {after / 1e6:.2f}M params)')


if __name__ == '__main__':
    main()
