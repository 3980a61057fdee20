# Copyright (c) mmunirep contributors. All rights reserved.
"""Effective receptive field (ERF) of a config's backbone, as the RepLKNet /
UniRepLKNet papers measure it (see mmunirep.analysis.erf): a heatmap PNG
and the high-contribution area ratios at t = 20%, 30%, 50% and 99%.

Examples::

    # the paper's setting: 50 images resized to 1024x1024
    python tools/analysis/visualize_erf.py configs/unireplknet_t_in1k.py \
        --checkpoint t_in1k.pth --images data/imagenet/val --num-images 50 \
        --out erf.png --compare convnext-tiny resnet50
    # any config (detector, segmentor, classifier), with or without weights
    python tools/analysis/visualize_erf.py \
        configs/upernet_unireplknet_t_ade20k.py --images imgs/ --out erf.png

``--compare`` takes mmpretrain models (``convnext-tiny``, ``resnet50``, or any
model-zoo name) or mmunirep configs, each optionally ``=CHECKPOINT``
(random initialisation otherwise); every model sees the same images.
"""
import argparse
import json

import torch
from mmengine.utils import ProgressBar

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.analysis.erf import (THRESHOLDS, area_ratios, compute_erf,
                                   draw_erfs, list_images, load_image,
                                   normalization_of, scale_erf)
from mmunirep.analysis.erf_models import compare_backbone, config_backbone
from mmunirep.apis import load_config
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.utils import atomic_write_text


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file (any task)')
    parser.add_argument('--checkpoint',
                        help='weights of the whole model (training or deploy '
                        'structure); without, the backbone is initialised '
                        'as for training')
    parser.add_argument('--images', required=True,
                        help='directory of images (the first N by name)')
    parser.add_argument('--num-images', type=int, default=50,
                        help='images to accumulate over (the papers: 50)')
    parser.add_argument('--shape', type=int, default=1024,
                        help='images are resized (short side) and centre-'
                        'cropped to this square (the papers: 1024)')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--compare', nargs='*', default=[],
                        metavar='MODEL[=CKPT]',
                        help='mmpretrain models (convnext-tiny, resnet50, '
                        'any model-zoo name) or mmunirep configs to draw '
                        'alongside')
    parser.add_argument('--dpi', type=int, default=160,
                        help='pixels per inch of the PNG (4 inches per '
                        'panel: 640 px at 160)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of random initialisations')
    parser.add_argument('--name', help='label of the config\'s model')
    parser.add_argument('--json', help='also write the ratios here')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.num_images < 1 or args.shape < 32:
        raise SystemExit('error: --num-images must be >= 1 and --shape >= 32')
    torch.manual_seed(args.seed)
    with report_user_errors():
        try:
            cfg = load_config(args.config, args.cfg_options,
                              args.strict_options)
            paths = list_images(args.images, args.num_images)
            models = [config_backbone(cfg, args.checkpoint, args.name)]
            models += [compare_backbone(spec) for spec in args.compare]
        except ValueError as error:
            raise SystemExit(f'error: {error}') from None
    norm = normalization_of(cfg.model)
    scaled, ratios = {}, {}
    for label, backbone in models:
        print(f'{label}: {len(paths)} images at {args.shape}x{args.shape}')
        bar = ProgressBar(len(paths))
        images = (load_image(p, args.shape, **norm) for p in paths)
        erf = compute_erf(backbone, images, progress=bar.update)
        print()
        try:
            scaled[label] = scale_erf(erf)
        except ValueError as error:
            raise SystemExit(f'error: {label}: {error}')
        ratios[label] = area_ratios(scaled[label])
    draw_erfs(scaled, ratios, args.out, dpi=args.dpi)
    width = max(len(label) for label in ratios) + 2
    print('\nhigh-contribution area ratio (smallest centred square holding '
          't of the contribution, % of the image)')
    print(f"{'model':<{width}}" + ''.join(f'{f"t={t:.0%}":>9}'
                                          for t in THRESHOLDS))
    for label, row in ratios.items():
        print(f'{label:<{width}}' + ''.join(f'{100 * r:>8.2f}%'
                                            for r in row.values()))
    print(f'\nERF heatmaps: {args.out}')
    if args.json:
        atomic_write_text(json.dumps(dict(
            images=len(paths), shape=args.shape,
            ratios={label: {str(t): r for t, r in row.items()}
                    for label, row in ratios.items()}), indent=2), args.json)


if __name__ == '__main__':
    main()
