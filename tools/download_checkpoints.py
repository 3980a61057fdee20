# Copyright (c) mmunirep contributors. All rights reserved.
"""Download the UniRepLKNet authors' checkpoints ahead of training.

    python tools/download_checkpoints.py NAME [NAME ...]
    python tools/download_checkpoints.py --config CONFIG [CONFIG ...]
    python tools/download_checkpoints.py --all
    python tools/download_checkpoints.py --list

For clusters whose compute nodes have no internet: run it on the login node,
then train on the compute nodes. By default the files go into the cache
MMEngine reads for ``http(s)`` checkpoints (``$TORCH_HOME/hub/checkpoints``,
by default ``~/.cache/torch/hub/checkpoints``), so the configs, which name the
files by their Hugging Face URL, find them there offline; with a shared home
the compute nodes see the same cache. ``--dest DIR`` writes elsewhere (then
point the config at the file with ``--cfg-options
model.backbone.init_cfg.checkpoint=DIR/NAME``).

The files come from ``$HF_ENDPOINT/DingXiaoH/UniRepLKNet/resolve/main/NAME``
(``HF_ENDPOINT``, the Hugging Face convention for mirrors, defaults to
https://huggingface.co). Each is written under a temporary name, checked
(it loads with ``torch.load(weights_only=True)`` and its tensors fit the
UniRepLKNet arch it is published for) and only then renamed; the tool exits
non-zero, saying why, when a file fails.
"""
import argparse
import sys

from mmengine.config import Config
from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                           TimeRemainingColumn, TransferSpeedColumn)

from mmunirep.checkpoints import (LOST, PUBLISHED, default_checkpoint_dir,
                                  download_checkpoint, published_checkpoint,
                                  published_checkpoints_of)
from mmunirep.checkpoints.catalogue import KINDS, hf_endpoint
from mmunirep.utils import CheckpointError


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.split('\n')[1:]))
    parser.add_argument('names', nargs='*', metavar='NAME',
                        help='published file names (see --list)')
    parser.add_argument('--config', nargs='+', default=[], metavar='CONFIG',
                        help='the files these configs start from')
    parser.add_argument('--all', action='store_true',
                        help='every published file')
    parser.add_argument('--list', action='store_true',
                        help='show the published files and their configs')
    parser.add_argument('--dest', help='where to write the files (default: '
                        'the cache MMEngine reads, '
                        f'{default_checkpoint_dir()})')
    args = parser.parse_args()
    chosen = [bool(args.names), bool(args.config), args.all, args.list]
    if sum(chosen) != 1:
        parser.error('give exactly one of: NAME..., --config CONFIG..., '
                     '--all, --list')
    return args


def show_list() -> None:
    print(f'Published in {hf_endpoint()}/DingXiaoH/UniRepLKNet '
          f'(cache: {default_checkpoint_dir()}):')
    for entry in PUBLISHED.values():
        print(f'\n{entry.name}  UniRepLKNet-{entry.arch.upper()}, '
              f'{KINDS[entry.kind]}')
        for config in entry.configs:
            print(f'    starts configs/{config}.py')
        if entry.evaluated_by:
            print(f'    reproduced by configs/{entry.evaluated_by}.py')
    print('\nListed by the authors but lost:')
    for name, note in LOST.items():
        print(f'  {name}: {note}')


def download_all(names, dest) -> int:
    """Download each file with a progress bar; the number that failed."""
    console = Console(stderr=True)
    failed = 0
    columns = (TextColumn('{task.description}'), BarColumn(),
               DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    for name in names:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(name, total=None)

            def update(done, total, task=task):
                progress.update(task, completed=done, total=total)

            try:
                path = download_checkpoint(name, dest, progress=update)
            except CheckpointError as err:
                failed += 1
                progress.stop()
                print(f'FAILED {name}: {err}', file=sys.stderr)
                continue
        print(f'ok {path}', file=sys.stderr)
    return failed


def main():
    args = parse_args()
    if args.list:
        show_list()
        return
    try:
        if args.all:
            names = list(PUBLISHED)
        elif args.config:
            names = list(dict.fromkeys(
                entry.name for path in args.config
                for entry in published_checkpoints_of(
                    Config.fromfile(path).model, path)))
        else:
            names = [published_checkpoint(name).name for name in args.names]
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    failed = download_all(names, args.dest)
    if failed:
        sys.exit(f'error: {failed} of {len(names)} file(s) failed (see '
                 'above); no failed download was kept')


if __name__ == '__main__':
    main()
