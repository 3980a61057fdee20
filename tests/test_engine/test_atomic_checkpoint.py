# Copyright (c) mmunirep contributors. All rights reserved.
"""Crash-safe checkpoints: kill -9 real training processes (tools/train.py)
at several points of a save, then resume to the end.

The training runs a small model through the real tools/train.py, with
``mmunirep.AtomicCheckpointHook`` saving every iteration and keeping one
checkpoint (as the demo configs do); each run is a process of its own,
forked from one that imported tools/train.py once (``train_forkserver``).
A process is killed with SIGKILL either by itself at a chosen point of the
n-th save (points injected by the ``toy_parts`` module the config imports;
the library has no test hooks) or from outside at random moments (after a
random number of saves). After every kill, at least one complete
checkpoint must exist and ``last_checkpoint`` must name one; ``--resume``
must continue from the newest complete one and reach the end, with the
weights of a run that was never interrupted.
"""
import os
import random
import re
import signal
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmunirep.apis import find_resumable_checkpoint, read_resume_point
from mmunirep.utils import atomic_torch_save, atomic_write
from tests.test_engine.train_forkserver import TrainForkServer

ROOT = Path(__file__).resolve().parents[2]

# Imported by the config (custom_imports); KILL_AT=point:n makes the process
# SIGKILL itself at the n-th occurrence of point in a checkpoint save.
TOY_PARTS = '''
import os
import signal

import torch
from mmengine.fileio import LocalBackend
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, MODELS
from torch.utils.data import Dataset

from mmunirep.engine.hooks.atomic_checkpoint_hook import AtomicLocalBackend


@MODELS.register_module(force=True)
class AtomicToyModel(BaseModel):

    def __init__(self, width=4):
        super().__init__()
        self.linear = torch.nn.Linear(width, width)
        self.out = torch.nn.Linear(width, 1)

    def forward(self, inputs, targets, mode='tensor'):
        x = torch.stack(inputs)
        outputs = self.out(self.linear(x[:, :self.linear.in_features]))
        if mode == 'loss':
            return dict(loss=(outputs - torch.stack(targets)).pow(2).mean())
        return outputs


@DATASETS.register_module(force=True)
class AtomicToyDataset(Dataset):

    def __len__(self):
        return 64

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(1024, generator=gen),
                    targets=torch.randn(1, generator=gen))


POINT, _, NTH = os.environ.get('KILL_AT', '::').partition(':')
SEEN = {}


def die_at(point, path):
    if point != POINT:
        return
    SEEN[point] = SEEN.get(point, 0) + 1
    if SEEN[point] == int(NTH):
        os.kill(os.getpid(), signal.SIGKILL)


def wrap_put(cls):
    put = cls.put

    def killing_put(self, obj, filepath):
        if str(filepath).endswith('.pth'):
            die_at('put', filepath)
        return put(self, obj, filepath)

    cls.put = killing_put


wrap_put(LocalBackend)
wrap_put(AtomicLocalBackend)
replace, remove = os.replace, os.remove


def killing_replace(src, dst):
    if str(dst).endswith('.pth'):
        die_at('rename', dst)
    elif str(dst).endswith('last_checkpoint'):
        die_at('pointer', dst)
    return replace(src, dst)


def killing_remove(path):
    if str(path).endswith('.pth'):
        die_at('remove', path)
    return remove(path)


os.replace, os.remove = killing_replace, killing_remove
'''

CONFIG = '''
custom_imports = dict(imports=['toy_parts'], allow_failed_imports=False)
default_scope = 'mmengine'
model = dict(type='AtomicToyModel', width={width})
train_dataloader = dict(
    dataset=dict(type='AtomicToyDataset'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_size=4, num_workers=0)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.01))
param_scheduler = dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                       begin=0, end=4)
train_cfg = dict(by_epoch=False, max_iters={iters})
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='{hook}', interval=1, by_epoch=False,
                    max_keep_ckpts=1))
randomness = dict(seed=0)
'''


def write_config(folder, iters, width=4, hook='mmunirep.AtomicCheckpointHook'):
    (folder / 'toy_parts.py').write_text(TOY_PARTS)
    path = folder / f'toy_{width}.py'
    path.write_text(CONFIG.format(iters=iters, width=width, hook=hook))
    return path


@pytest.fixture(scope='module')
def server():
    """Forks the training processes (tools/train.py imported once)."""
    with TrainForkServer() as server:
        yield server


class Training:
    """A tools/train.py process forked by ``server``: ``pid``, ``log``."""

    def __init__(self, server, config, work_dir, *args, kill_at=None):
        self.server = server
        self.log_file = work_dir.parent / f'train_{time.monotonic_ns()}.log'
        self.pid = server.start(
            [config, '--work-dir', work_dir, *args], self.log_file,
            env=dict(KILL_AT=kill_at or ''), path=[config.parent])

    def poll(self):
        return self.server.poll(self.pid)

    def wait(self, timeout=300):
        return self.server.wait(self.pid, timeout)

    @property
    def log(self):
        return self.log_file.read_text()


def train(server, config, work_dir, *args, kill_at=None):
    run = Training(server, config, work_dir, *args, kill_at=kill_at)
    code = run.wait()
    return code, run.log


def checkpoint_iter(path):
    iteration, problem = read_resume_point(str(path))
    assert problem is None, problem
    return iteration


def assert_recoverable(work_dir):
    """At least one complete checkpoint, and last_checkpoint names one."""
    named = (work_dir / 'last_checkpoint').read_text().strip()
    return checkpoint_iter(named)


def final_weights(work_dir, iters):
    state = torch.load(work_dir / f'iter_{iters}.pth', map_location='cpu')
    assert state['meta']['iter'] == iters
    return state['state_dict']


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    """An 8-iteration run that is never killed (in this process)."""
    folder = tmp_path_factory.mktemp('straight')
    config = write_config(folder, iters=8)
    sys.path.insert(0, str(folder))
    try:
        cfg = Config.fromfile(str(config))
        cfg.work_dir = str(folder / 'work')
        Runner.from_cfg(cfg).train()
    finally:
        sys.path.remove(str(folder))
    return final_weights(folder / 'work', 8)


def test_kill_at_each_point_of_a_save_then_resume(tmp_path, uninterrupted,
                                                  server):
    """Kill at the second save of each run, at a different point each time;
    every resumed run continues from the newest complete checkpoint."""
    config = write_config(tmp_path, iters=8)
    work = tmp_path / 'work'
    # (point, iteration whose save is cut, checkpoint resumed from next)
    chain = [
        ('put', 2, 1),  # before a byte of iter_2 is written
        ('rename', 3, 2),  # iter_3 written to its temporary file
        ('pointer', 4, 4),  # iter_4 renamed, last_checkpoint still iter_3
        ('remove', 6, 6),  # iter_6 complete and named, iter_5 not yet gone
    ]
    resume = []
    for point, cut, resumes_from in chain:
        code, log = train(server, config, work, *resume,
                          kill_at=f'{point}:2')
        assert code == -signal.SIGKILL, log[-3000:]
        assert f'Saving checkpoint at {cut} iterations' in log
        assert f'Saving checkpoint at {cut + 1} iterations' not in log
        named = assert_recoverable(work)
        assert find_resumable_checkpoint(str(work))[0].endswith(
            f'iter_{resumes_from}.pth')
        assert named == resumes_from or point == 'pointer'
        resume = ['--resume']
    # a checkpoint deleted by hand and a partial one: both are skipped
    os.remove(work / 'iter_6.pth')
    (work / 'iter_99.pth').write_bytes(
        (work / 'iter_5.pth').read_bytes()[:2000])
    code, log = train(server, config, work, '--resume')
    assert code == 0, log[-3000:]
    assert '--resume: skipped checkpoint' in log and 'iter_6.pth not found' \
        in log
    assert 'iter_99.pth is truncated' in log
    assert f'--resume: continuing from {work / "iter_5.pth"}' in log
    assert 'Saving checkpoint at 6 iterations' in log
    weights = final_weights(work, 8)
    for key, value in uninterrupted.items():
        assert torch.allclose(weights[key], value, atol=1e-6), key
    # the temporary files of the killed saves are gone
    assert not [p for p in os.listdir(work) if '.mmunirep-tmp-' in p]


def named_iteration(pointer):
    """The iteration of the checkpoint ``last_checkpoint`` names (0 before
    the first), read without loading it."""
    if not pointer.exists():
        return 0
    found = re.search(r'iter_(\d+)\.pth$', pointer.read_text().strip())
    return int(found.group(1))


def test_random_kills_from_outside_then_resume(tmp_path, server):
    """kill -9 from another process at random moments of a run whose time
    goes mostly into saving 13 MB checkpoints (bounded: three kills): each
    a random 0-50 ms after a random one (1st to 6th) of the run's saves was
    named, so that the run is cut before its end however fast the disk."""
    rng = random.Random(0)
    config = write_config(tmp_path, iters=30, width=1024)
    work = tmp_path / 'work'
    pointer = work / 'last_checkpoint'
    resume = []
    for _ in range(3):
        kill_after = named_iteration(pointer) + rng.randint(1, 6)
        run = Training(server, config, work, *resume)
        deadline = time.monotonic() + 120
        while run.poll() is None and time.monotonic() < deadline and \
                named_iteration(pointer) < kill_after:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))
        if run.poll() is None:
            os.kill(run.pid, signal.SIGKILL)
        code, log = run.wait(timeout=60), run.log
        assert code == -signal.SIGKILL, log[-3000:]
        recovered = assert_recoverable(work)
        assert 1 <= recovered <= 30
        if recovered == 30:  # killed after its last save, while closing
            break
        resume = ['--resume']
    code, log = train(server, config, work, '--resume')
    assert code == 0, log[-3000:]
    assert final_weights(work, 30)
    assert not [p for p in os.listdir(work) if '.mmunirep-tmp-' in p]


@pytest.mark.parametrize('name', ['upernet_unireplknet_a_shapes',
                                  'cascade_mask_rcnn_unireplknet_a_shapes'])
def test_demo_configs_save_with_the_atomic_hook(name):
    # the published configs are checked in tests/test_configs
    cfg = Config.fromfile(str(ROOT / 'configs/demo' / f'{name}.py'))
    assert cfg.default_hooks.checkpoint.type == \
        'mmunirep.AtomicCheckpointHook'
    # ... and guard their runs (divergence, preemption)
    assert cfg.default_hooks.divergence_guard.type == \
        'mmunirep.DivergenceGuardHook'
    assert cfg.default_hooks.preemption.type == 'mmunirep.PreemptionHook'


def test_removals_wait_for_the_new_checkpoint(tmp_path):
    """Every removal (the outdated periodic checkpoint, the previous best)
    happens after its successor is complete and named."""
    from tests.test_engine import long_run_parts  # noqa: F401 (RisingScore)
    sys.path.insert(0, str(ROOT / 'tests'))
    from test_resume import ToyDataset, ToyModel
    sys.path.pop(0)

    removed = []

    def checked_remove(path):
        files = set(os.listdir(tmp_path))
        named = (tmp_path / 'last_checkpoint').read_text().strip()
        name = os.path.basename(path)
        if name.startswith('best_'):
            assert len([f for f in files if f.startswith('best_')]) == 2
        else:
            assert os.path.basename(named) != name and \
                os.path.basename(named) in files
        removed.append(name)
        remove(path)

    remove = os.remove
    runner = Runner(
        model=ToyModel(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=ToyDataset(), batch_size=4,
                              sampler=dict(type='DefaultSampler')),
        val_dataloader=dict(dataset=ToyDataset(), batch_size=4,
                            sampler=dict(type='DefaultSampler',
                                         shuffle=False)),
        val_evaluator=dict(type='RisingScore'), val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=3, val_interval=1),
        default_hooks=dict(checkpoint=dict(
            type='mmunirep.AtomicCheckpointHook', interval=1, by_epoch=False,
            max_keep_ckpts=1, save_best='score', rule='greater')),
        default_scope='mmengine')
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, 'remove', checked_remove)
        runner.train()
    assert removed == ['iter_1.pth', 'best_score_iter_1.pth', 'iter_2.pth',
                       'best_score_iter_2.pth']
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth')) == [
        'best_score_iter_3.pth', 'iter_3.pth'
    ]


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / 'iter_1.pth'
    atomic_torch_save({'w': torch.ones(3)}, str(path))
    mode = path.stat().st_mode
    with pytest.raises(RuntimeError, match='disk full'):
        with atomic_write(str(path)) as f:
            f.write(b'half a checkpoint')
            raise RuntimeError('disk full')
    assert torch.equal(torch.load(path)['w'], torch.ones(3))
    assert os.listdir(tmp_path) == ['iter_1.pth']
    atomic_torch_save({'w': torch.zeros(3)}, str(path))
    assert torch.equal(torch.load(path)['w'], torch.zeros(3))
    assert path.stat().st_mode == mode  # as open(path, 'wb') would leave it
