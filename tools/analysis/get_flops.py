# Copyright (c) mmunirep contributors. All rights reserved.
"""Parameters and FLOPs (multiply-accumulates) of a config's model, counted
as the UniRepLKNet paper counts them (see mmunirep.analysis.complexity).

Examples::

    python tools/analysis/get_flops.py \
        configs/upernet_unireplknet_t_ade20k.py --shape 512 2048
    python tools/analysis/get_flops.py \
        configs/cascade_mask_rcnn_unireplknet_t_coco.py --shape 800 1280
    python tools/analysis/get_flops.py CONFIG --backbone-only --structure train
"""
import argparse
import json

import mmunirep  # noqa: F401  (environment check)
from mmunirep.analysis import model_complexity
from mmunirep.apis import build_model, load_config
from mmunirep.apis.cli import add_cfg_options_arguments


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=[512, 2048],
                        help='input H W (one value: square)')
    parser.add_argument('--structure', choices=['deploy', 'train'],
                        default='deploy',
                        help='count the inference (deploy, as the paper) or '
                        'the training structure')
    parser.add_argument('--backbone-only', action='store_true')
    parser.add_argument('--num-box-rois', type=int, default=1000,
                        help='RoIs per box head (detectors)')
    parser.add_argument('--num-mask-rois', type=int, default=100,
                        help='RoIs per mask head (detectors; mmdet 2.x and '
                        'the paper count 100)')
    parser.add_argument('--json', help='also write the numbers to this file')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    shape = args.shape * 2 if len(args.shape) == 1 else args.shape[:2]
    cfg = load_config(args.config, args.cfg_options, args.strict_options)
    model = build_model(cfg, deploy=args.structure == 'deploy')
    result = model_complexity(model, shape, args.backbone_only,
                              args.num_box_rois, args.num_mask_rois)
    print(f'config: {args.config}')
    print(f'input: 3x{shape[0]}x{shape[1]}, structure: {args.structure}')
    for name, flops in result.parts.items():
        print(f'  {name:<16} {flops / 1e9:10.2f} G')
    print(f'FLOPs (MACs): {result.flops / 1e9:.2f} G')
    print(f'params: {result.params / 1e6:.2f} M')
    for note in result.notes:
        print(f'note: {note}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, shape=shape,
                           structure=args.structure, flops=result.flops,
                           params=result.params, parts=result.parts,
                           notes=result.notes), f, indent=2)


if __name__ == '__main__':
    main()
