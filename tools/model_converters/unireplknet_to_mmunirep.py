# Copyright (c) mmunirep contributors. All rights reserved.
"""Convert the UniRepLKNet authors' checkpoints (ImageNet classifier, mmdet
2.x COCO, mmseg 0.x ADE20K; training or deploy structure) to mmunirep /
OpenMMLab 2.0 checkpoints. The logic, and what it does to each kind of file,
is in the package mmunirep/converters/unireplknet_official/.

    python tools/model_converters/unireplknet_to_mmunirep.py \
        unireplknet_t_in1k_224_acc83.21.pth \
        checkpoints/unireplknet_t_in1k_224_acc83.21_mmunirep.pth \
        --config configs/unireplknet_t_in1k.py
"""
import argparse
import sys

import mmunirep  # noqa: F401  (environment check; safe globals for torch.load)
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.converters import FORMATS, ConversionError, convert


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('.')[0])
    parser.add_argument('src', help="the authors' checkpoint")
    parser.add_argument('dst', help='where to save the converted one')
    parser.add_argument('--type', default='auto', choices=['auto', *FORMATS],
                        help='the source format; auto (default) tells from '
                        'the keys')
    parser.add_argument('--no-ema', action='store_true',
                        help='mmdet 2.x files with EMA buffers: write the raw '
                        'training weights instead of the average (which the '
                        'authors evaluated)')
    parser.add_argument('--config', help="check that the result loads with "
                        "strict keys into this config's model before saving")
    parser.add_argument('--trust', action='store_true',
                        help='unpickle SRC fully if weights-only loading '
                        'refuses it; only for files from a trusted source')
    add_cfg_options_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        with report_user_errors():
            result = convert(args.src, args.dst, args.type, not args.no_ema,
                             args.config, args.cfg_options, args.trust,
                             args.strict_options)
    except ConversionError as err:
        sys.exit(f'error: {err}')
    if result.detected:
        print(f'detected: {FORMATS[result.fmt]} ({result.fmt})')
    for warning in result.warnings:
        print(f'warning: {warning}', file=sys.stderr)
    for note in result.notes:
        print(f'note: {note}')
    if result.checked_config:
        print('checked: loads with strict keys into the model of '
              f'{result.checked_config}')
    print(f'{result.arch}: wrote {result.num_tensors} tensors to {args.dst}')


if __name__ == '__main__':
    main()
