# Copyright (c) mmunirep contributors. All rights reserved.
"""A full disk: a warning before the first save when the checkpoints to keep
would not fit, and on ENOSPC a message (file, checkpoint size, free space,
intact earlier checkpoints, how to resume) instead of a traceback, from our
tools/train.py and from mmseg's own (through our hook); the earlier
checkpoints stay intact."""
import errno
import importlib.util
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import torch

import mmunirep  # noqa: F401  (lets torch.load read Runner checkpoints)
from mmunirep.apis import read_resume_point
from mmunirep.engine.checkpoint_space import (estimate_checkpoint_bytes,
                                              space_warning)
from mmunirep.engine.training_stop import EXIT_DISK_FULL
from mmunirep.utils import DiskFullError, atomic_write_bytes, format_bytes
from tests.test_tools.conftest import run_tool

ROOT = Path(__file__).resolve().parents[2]

CONFIG = '''
custom_imports = dict(imports=['tests.test_engine.long_run_parts'],
                      allow_failed_imports=False)
default_scope = 'mmengine'
model = dict(type='LongRunToyModel', width=1024)
train_dataloader = dict(
    dataset=dict(type='LongRunToyDataset', width=1024),
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_size=4, num_workers=0)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.01))
train_cfg = dict(by_epoch=False, max_iters=3)
default_hooks = dict(
    checkpoint=dict(type='mmunirep.AtomicCheckpointHook', interval=1,
                    by_epoch=False, max_keep_ckpts=1))
'''
#: The toy's checkpoint: 1024x1024 + 1024 + 1024 + 1 weights, twice as much
#: AdamW state (and a few bytes of steps).
CHECKPOINT_MB = 3 * (1024 * 1024 + 2049) * 4 / 1e6


def small_tmpfs(path, megabytes):
    """Mount a tmpfs of ``megabytes`` at ``path`` (root only); return the
    command that unmounts it, or skip."""
    path.mkdir()
    mount = subprocess.run(['mount', '-t', 'tmpfs', '-o',
                            f'size={megabytes}m', f'mmunirep-{uuid.uuid4()}',
                            str(path)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {mount.stderr.strip()}')
    return ['umount', str(path)]


@pytest.fixture(params=['tmpfs', 'failing_write'])
def full_disk(request, tmp_path):
    """A work dir where the first checkpoint fits and the second does not:
    a 20 MB tmpfs (a checkpoint takes 12.6 MB; an atomic save keeps the old
    one until the new one is written) or, where mounting is not allowed,
    fsync failing with ENOSPC at the second save."""
    if request.param == 'tmpfs':
        work = tmp_path / 'small'
        unmount = small_tmpfs(work, 20)
        yield work, {}
        subprocess.run(unmount, check=True)
    else:
        yield tmp_path / 'work', dict(FAIL_FSYNC_AT='2')


def upstream_train_tool():
    """mmseg's own tools/train.py (any upstream one trains this config)."""
    spec = importlib.util.find_spec('mmseg')
    return Path(spec.submodule_search_locations[0], '.mim/tools/train.py')


@pytest.mark.parametrize('tool', ['ours', 'mmseg'])
def test_disk_full_stops_training_with_what_to_do(full_disk, tmp_path, tool):
    """Through our tools/train.py, and through mmseg's own with our hook."""
    work, env = full_disk
    config = tmp_path / 'toy.py'
    config.write_text(CONFIG)
    script = 'tools/train.py' if tool == 'ours' else upstream_train_tool()
    result = run_tool(script, config, '--work-dir', work, expect_ok=False,
                      env=dict(env, PYTHONPATH=str(ROOT)))
    log = result.stdout + result.stderr
    assert result.returncode == EXIT_DISK_FULL, log[-3000:]
    assert 'Traceback' not in log
    assert f'No space left on the device while writing {work}/iter_2.pth.' \
        f' A checkpoint of this run is {format_bytes(CHECKPOINT_MB * 1e6)}' \
        in log
    assert re.search(r'[0-9.]+ [kMG]?B is free there', log)
    assert 'no partial file was left, and the earlier checkpoints are ' \
        f'intact (newest: {work}/iter_1.pth)' in log
    assert f'continue with --resume: python tools/train.py {config} ' \
        f'--work-dir {work} --resume' in log
    assert read_resume_point(str(work / 'iter_1.pth')) == (1, None)
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_1.pth')
    assert not [p for p in os.listdir(work) if '.mmunirep-tmp-' in p]
    if not env:  # the real small disk was also foreseen
        assert 'The checkpoints of this run may not fit in' in log


def test_space_warning_names_the_sizes():
    model = torch.nn.Linear(1000, 1000)
    wrapper = type('Wrapper', (), dict(optimizer=torch.optim.AdamW(
        model.parameters())))()
    weights, state = estimate_checkpoint_bytes(model, wrapper)
    assert weights == 1001000 * 4 and state == 2 * weights
    warning = space_warning(weights, state, 3, 40, True, 10**7, '/w')
    assert warning.startswith('The checkpoints of this run may not fit in '
                              '/w: 10 MB free, about 56.1 MB needed. A '
                              'checkpoint is about 12 MB (weights 4 MB + '
                              'optimizer state 8.01 MB); the hook keeps 3 '
                              '(max_keep_ckpts), plus one while the next is '
                              'written, and the best one')
    assert space_warning(weights, state, -1, 2, False, 10**8, '/w') is None
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    assert estimate_checkpoint_bytes(
        model, type('W', (), dict(optimizer=sgd))())[1] == 0


def test_every_atomic_write_names_a_full_disk(tmp_path):
    """Tools that write through atomic_io say which file and how much space
    is left, and leave the old file as it was."""
    target = tmp_path / 'model.pth'
    target.write_bytes(b'old')

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, 'fsync', full)
        with pytest.raises(DiskFullError) as err:
            atomic_write_bytes(b'new', str(target))
    assert str(err.value).startswith(
        f'no space left on the device while writing {target} (')
    assert err.value.errno == errno.ENOSPC
    assert target.read_bytes() == b'old' and os.listdir(tmp_path) == [
        'model.pth']
