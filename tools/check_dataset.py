# Copyright (c) mmunirep contributors. All rights reserved.
"""Check the dataset files of a config before training on them.

    python tools/check_dataset.py CONFIG [--split train val test]
        [--cfg-options ...]

Reads every image and annotation of the chosen splits (default: train and
val) and names each bad file with the fix: unreadable images, missing or
malformed annotation files (COCO json: file and position), label maps whose
size differs from their image, label values beyond the classes, categories
that differ from the config's classes, empty splits. Exit status 1 when
anything is wrong. ``tools/train.py --check-data`` runs the same check first.
"""
import argparse
import sys

import mmunirep  # noqa: F401  (environment check)
from mmunirep.apis import load_config
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.apis.dataset_check import check_dataset, describe_problems


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', nargs='+', default=['train', 'val'],
                        choices=['train', 'val', 'test'],
                        help='splits to check (default: train val)')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_user_errors():
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
    problems = check_dataset(cfg, args.split)
    if problems:
        sys.exit(f'error: {describe_problems(problems)}')
    print(f'{args.config}: splits {", ".join(args.split)} look fine')


if __name__ == '__main__':
    main()
