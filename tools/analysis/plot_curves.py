# Copyright (c) mmunirep contributors. All rights reserved.
"""Plot training curves (loss, metrics, lr, ...) against the iteration from
MMEngine's json logs (``WORK_DIR/<timestamp>/vis_data/scalars.json``), as
mmdet's analyze_logs.py does for the old json logs.

    python tools/analysis/plot_curves.py WORK_DIR [WORK_DIR ...] \
        --keys loss mIoU --out curves.png [--legend A B] [--title T]

One panel per key, one line per work dir (all runs in a work dir, resumed
ones included, are joined); validation metrics are drawn with markers. A
WORK_DIR may also be a scalars.json file.
"""
import argparse
import os.path as osp

from mmunirep.analysis.curves import load_curves, plot_curves


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dirs (or scalars.json files)')
    parser.add_argument('--keys', nargs='+', default=['loss'],
                        help='scalars to plot, e.g. loss mIoU '
                        'coco/bbox_mAP lr')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--legend', nargs='+',
                        help='one label per work dir (default: their names)')
    parser.add_argument('--title', default='', help='figure title')
    return parser.parse_args()


def main():
    args = parse_args()
    labels = args.legend or [
        osp.basename(osp.normpath(path)) for path in args.work_dirs
    ]
    if len(labels) != len(args.work_dirs):
        raise SystemExit(f'error: {len(labels)} --legend labels for '
                         f'{len(args.work_dirs)} work dirs')
    runs = {}
    for label, path in zip(labels, args.work_dirs):
        try:
            runs[label] = load_curves(path, args.keys)
        except (FileNotFoundError, KeyError, ValueError) as error:
            raise SystemExit(f'error: {error.args[0]}')
        missing = [k for k in args.keys if k not in runs[label]]
        if missing:
            print(f'note: {path} does not log {", ".join(missing)}')
    plot_curves(runs, args.keys, args.out, title=args.title)
    print(f'curves of {", ".join(args.keys)}: {args.out}')


if __name__ == '__main__':
    main()
