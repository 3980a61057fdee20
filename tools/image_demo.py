# Copyright (c) mmunirep contributors. All rights reserved.
"""Draw a model's predictions on images (detection, segmentation or
classification) and save them as PNG files.

    python tools/image_demo.py CONFIG CHECKPOINT IMAGE_OR_DIR \
        --out-dir OUT [--deploy] [--score-thr 0.3] [--min-width 512] \
        [--device cpu]

``--deploy`` re-parameterizes a training-structure checkpoint first; a
checkpoint converted by tools/reparameterize.py goes with the configs/deploy/
config instead.
"""
import argparse
import os
import os.path as osp

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.apis import (build_model, build_test_pipeline, draw_prediction,
                           load_config, load_dataset_meta, predict)
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.utils import IMAGE_SUFFIXES, image_files


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', help='an image file or a directory')
    parser.add_argument('--out-dir', required=True,
                        help='where to write <image name>.png')
    parser.add_argument('--deploy', action='store_true',
                        help='re-parameterize the model before predicting')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='lowest score of a drawn box (detection)')
    parser.add_argument('--min-width', type=int, default=0,
                        help='draw small images enlarged to at least this '
                        'width (e.g. 512); 0 keeps their size')
    parser.add_argument('--device', default='cpu')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def list_images(path: str) -> list:
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise SystemExit(f'error: {path} is neither an image nor a directory')
    images = image_files(path)
    if not images:
        raise SystemExit(f'error: no images ({", ".join(IMAGE_SUFFIXES)}) '
                         f'in {path}')
    return images


def main():
    args = parse_args()
    images = list_images(args.images)
    with report_user_errors():
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
        model = build_model(cfg, args.checkpoint, deploy=args.deploy,
                            device=args.device)
    pipeline = build_test_pipeline(cfg)
    dataset_meta = load_dataset_meta(model, cfg)
    os.makedirs(args.out_dir, exist_ok=True)
    for path in images:
        prediction = predict(model, pipeline, [path])[0]
        out_file = osp.join(args.out_dir,
                            osp.splitext(osp.basename(path))[0] + '.png')
        draw_prediction(cfg, dataset_meta, path, prediction, out_file,
                        args.score_thr, args.min_width)
        print(f'{path} -> {out_file}')


if __name__ == '__main__':
    main()
