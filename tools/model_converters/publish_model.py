# Copyright (c) mmunirep contributors. All rights reserved.
"""Prepare a training checkpoint for publishing (OpenMMLab convention).

    python tools/model_converters/publish_model.py IN OUT \
        [--deploy CONFIG] [--raw-weights] [--cfg-options ...]

Keeps ``state_dict`` (the EMA weights of a run with EMA; ``--raw-weights``
takes the raw ones) and a ``meta`` of plain Python types; drops optimizer,
scheduler and message-hub state. With ``--deploy CONFIG`` (the training
config of the checkpoint) the weights are re-parameterized on the way and
load into ``configs/deploy/<same name>.py``. The file is written as
``OUT-<sha256[:8]>.pth`` and loads with ``torch.load(weights_only=True)``
without any allow-list.
"""
import argparse

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.apis.publish import publish_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_file', help='the checkpoint to publish')
    parser.add_argument('out_file', help='output name (the sha256 prefix is '
                        'appended)')
    parser.add_argument('--deploy', metavar='CONFIG',
                        help='re-parameterize with this training config')
    parser.add_argument('--raw-weights', action='store_true',
                        help='publish the raw (not EMA) weights')
    add_cfg_options_arguments(parser)  # settings of --deploy CONFIG
    return parser.parse_args()


def main():
    args = parse_args()
    with report_user_errors():
        try:
            final, _ = publish_checkpoint(args.in_file, args.out_file,
                                          args.deploy, args.cfg_options,
                                          args.raw_weights,
                                          args.strict_options)
        except ValueError as err:  # a deploy config, nothing to convert
            raise SystemExit(f'error: {err}') from None
    print(f'published: {final}')


if __name__ == '__main__':
    main()
