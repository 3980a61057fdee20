# Copyright (c) mmunirep contributors. All rights reserved.
"""PreemptionHook, tools/dist_train.sh and tools/slurm_train.sh: SIGTERM or
SIGUSR1 saves a checkpoint at an iteration every process agrees on, the run
exits with 75, and resuming finishes with the weights of a run that was
never interrupted."""
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmunirep  # noqa: F401  (lets torch.load read Runner checkpoints)
from mmunirep.apis import read_resume_point
from mmunirep.engine import PreemptionHook
from mmunirep.engine.training_stop import EXIT_PREEMPTED, TrainingStopped
from tests.test_engine import long_run_parts  # noqa: F401  (registers toys)
from tests.test_tools.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]

CONFIG = '''
custom_imports = dict(imports=['tests.test_engine.long_run_parts'],
                      allow_failed_imports=False)
default_scope = 'mmengine'
model = dict(type='LongRunToyModel', seconds={seconds})
train_dataloader = dict(
    dataset=dict(type='LongRunToyDataset'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_size=4, num_workers=0)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.01))
param_scheduler = dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                       begin=0, end=10)
train_cfg = dict(by_epoch=False, max_iters={iters})
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    divergence_guard=dict(type='mmunirep.DivergenceGuardHook', interval=5),
    preemption=dict(type='mmunirep.PreemptionHook', interval=2),
    checkpoint=dict(type='mmunirep.AtomicCheckpointHook', interval=1000,
                    by_epoch=False, max_keep_ckpts=2))
randomness = dict(seed=0)
'''
ITERS = 30


def write_config(folder, seconds=0.05):
    path = folder / 'toy.py'
    path.write_text(CONFIG.format(seconds=seconds, iters=ITERS))
    return path


def start_dist_train(config, work_dir, *args):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PORT=str(free_port()),
               PYTHON=sys.executable, PYTHONPATH=os.pathsep.join(
                   [str(ROOT), os.environ.get('PYTHONPATH', '')]))
    return subprocess.Popen(
        ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
         str(work_dir), *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_until(proc, pattern, timeout=120):
    """Read ``proc``'s output until a line matches ``pattern``; return all
    output read."""
    lines, found, done = [], threading.Event(), threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if re.search(pattern, line):
                found.set()
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not (found.is_set() or done.is_set()) and \
            time.monotonic() < deadline:
        time.sleep(0.01)
    assert found.is_set(), ''.join(lines)[-3000:]
    return lines, reader


def interrupt(config, work_dir, sig, at_iter, *args):
    """Start a 2-process run, send ``sig`` to tools/dist_train.sh once the
    log shows iteration ``at_iter``; return (exit status, log)."""
    proc = start_dist_train(config, work_dir, *args)
    lines, reader = run_until(
        proc, rf'Iter\(train\) \[\s*{at_iter}/{ITERS}\]')
    proc.send_signal(sig)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    return proc.returncode, ''.join(lines)


def finish(config, work_dir, *args):
    proc = start_dist_train(config, work_dir, *args)
    log, _ = proc.communicate(timeout=300)
    return proc.returncode, log


def weights(path):
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def test_sigusr1_saves_exits_and_resumes_to_the_same_weights(tmp_path):
    """Two gloo processes through tools/dist_train.sh; SIGUSR1 to the
    script in the middle of the run, then --resume to the end: the weights
    equal those of an uninterrupted 2-process run."""
    config = write_config(tmp_path)
    code, log = finish(config, tmp_path / 'straight')
    assert code == 0, log[-3000:]
    expected = weights(tmp_path / 'straight' / f'iter_{ITERS}.pth')

    work = tmp_path / 'work'
    code, log = interrupt(config, work, signal.SIGUSR1, 5)
    assert code == EXIT_PREEMPTED, log[-3000:]
    found = re.search(r'SIGUSR1 received: training stopped after iteration '
                      r'(\d+) and saved (\S+)\.', log)
    assert found, log[-3000:]
    stopped = int(found.group(1))
    # the processes agree every 2 iterations, soon after the signal
    assert stopped % 2 == 0 and 5 < stopped < ITERS
    assert read_resume_point(found.group(2)) == (stopped, None)
    named = (work / 'last_checkpoint').read_text().strip()
    assert named == found.group(2) == str(work / f'iter_{stopped}.pth')
    assert f'Iter(train) [{stopped + 1}/{ITERS}]' not in log

    code, log = finish(config, work, '--resume')
    assert code == 0, log[-3000:]
    assert f'--resume: continuing from {work}/iter_{stopped}.pth' in log
    final = weights(work / f'iter_{ITERS}.pth')
    assert final.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(final[key], value), key
    assert not [p for p in os.listdir(work) if '.mmunirep-tmp-' in p]


#: Stands in for ``python -m torch.distributed.run``: two workers that stop
#: with 75 on SIGTERM / SIGUSR1 (writing it where tools/train.py would), and
#: a launcher that dies of SIGUSR1 and exits 1 when a worker fails, as
#: torchrun does.
FAKE_TORCHRUN = '''#!/usr/bin/env bash
worker() {
  trap "echo worker $1 got $2 >> $FAKE_LOG
        echo 75 > $MMUNIREP_EXIT_STATUS_FILE; exit 75" $2
  echo "worker $1 ready" >> "$FAKE_LOG"
  while true; do sleep 0.05; done
}
worker 0 TERM &
worker 1 TERM &
wait -n && first=0 || first=$?
wait -n && second=0 || second=$?
echo "launcher survived" >> "$FAKE_LOG"
[ "$first" -eq 0 ] && [ "$second" -eq 0 ] && exit 0
exit 1
'''


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGUSR1],
                         ids=lambda sig: sig.name)
def test_dist_train_passes_signals_to_the_workers(tmp_path, sig):
    """tools/dist_train.sh sends SIGTERM / SIGUSR1 to the training
    processes, not to torchrun (which would kill them after 30 s, or die of
    SIGUSR1), and exits with the status the run stopped with."""
    fake = tmp_path / 'python'
    fake.write_text(FAKE_TORCHRUN.replace('TERM &', f'{sig.name[3:]} &'))
    fake.chmod(stat.S_IRWXU)
    log = tmp_path / 'calls.log'
    proc = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', 'CONFIG.py', '2'], cwd=ROOT,
        env=dict(os.environ, PYTHON=str(fake), FAKE_LOG=str(log)))
    while (log.read_text() if log.exists() else '').count('ready') < 2:
        assert proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == EXIT_PREEMPTED
    assert sorted(log.read_text().splitlines()[2:]) == [
        'launcher survived', f'worker 0 got {sig.name[3:]}',
        f'worker 1 got {sig.name[3:]}']


class SendSignal(Hook):
    """Sends a signal to this process during a given iteration."""

    def __init__(self, signum, iteration):
        self.signum = signum
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), self.signum)


def toy_runner(work_dir, by_epoch, hooks, checkpoint_interval=1000):
    torch.manual_seed(0)
    loop = dict(by_epoch=True, max_epochs=3) if by_epoch else dict(
        by_epoch=False, max_iters=12)
    return Runner(
        model=dict(type='LongRunToyModel'), work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=dict(type='LongRunToyDataset', length=16),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=loop,
        default_hooks=dict(
            preemption=dict(type='mmunirep.PreemptionHook'),
            checkpoint=dict(type='mmunirep.AtomicCheckpointHook',
                            by_epoch=by_epoch, interval=checkpoint_interval)),
        custom_hooks=hooks, randomness=dict(seed=0),
        default_scope='mmengine')


@pytest.mark.parametrize('by_epoch', [False, True])
def test_one_process_stops_at_the_end_of_the_iteration(tmp_path, by_epoch):
    previous = signal.getsignal(signal.SIGUSR1)
    runner = toy_runner(tmp_path, by_epoch, [SendSignal(signal.SIGUSR1, 6)])
    with pytest.raises(TrainingStopped) as stop:
        runner.train()
    assert stop.value.code == EXIT_PREEMPTED
    assert 'SIGUSR1 received: training stopped after iteration 6' in str(
        stop.value)
    # an epoch-based run stops in the middle of its 2nd epoch (4 iterations
    # each): iter_6.pth, from which MMEngine restarts that epoch
    assert read_resume_point(str(tmp_path / 'iter_6.pth')) == (6, None)
    assert torch.load(tmp_path / 'iter_6.pth', weights_only=False)['meta'][
        'epoch'] == (1 if by_epoch else 0)
    assert signal.getsignal(signal.SIGUSR1) is not previous  # still ours
    hook = next(h for h in runner.hooks if isinstance(h, PreemptionHook))
    hook.after_train(runner)
    assert signal.getsignal(signal.SIGUSR1) is previous


def test_a_checkpoint_just_saved_is_not_saved_again(tmp_path):
    runner = toy_runner(tmp_path, False, [SendSignal(signal.SIGTERM, 4)],
                        checkpoint_interval=4)
    saves = []
    save = runner.save_checkpoint
    runner.save_checkpoint = lambda *a, **k: saves.append(a[1]) or save(
        *a, **k)
    with pytest.raises(TrainingStopped, match='saved .*iter_4.pth'):
        runner.train()
    assert saves == ['iter_4.pth']


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="signal names such as 'SIGTERM'"):
        PreemptionHook(signals=('SIGTERMINATE', ))
    with pytest.raises(ValueError, match='interval must be a positive int'):
        PreemptionHook(interval=0)


# ------------------------------------------------------------ slurm
FAKE_SBATCH = '''#!/usr/bin/env bash
# records its options, then runs the batch script as slurm would (same pid)
echo "sbatch $*" >> "$FAKE_LOG"
while [[ "$1" == --* ]]; do
  case "$1" in --export=ALL,*) EXPORTS=${1#--export=ALL,} ;; esac
  shift
done
IFS=, read -r -a PAIRS <<< "$EXPORTS"
exec env "${PAIRS[@]}" SLURM_JOB_ID=4242 bash "$@"
'''
FAKE_SRUN = '''#!/usr/bin/env bash
echo "srun $*" >> "$FAKE_LOG"
if [ -n "${FAKE_SRUN_WAIT:-}" ]; then
  sleep 30 &
  SLEEP=$!
  trap 'kill $SLEEP; echo "srun got USR1" >> "$FAKE_LOG"; exit 75' USR1
  echo "srun waiting" >> "$FAKE_LOG"
  wait
fi
exit "${FAKE_SRUN_STATUS:-0}"
'''
FAKE_SCONTROL = '''#!/usr/bin/env bash
echo "scontrol $*" >> "$FAKE_LOG"
'''


@pytest.fixture
def fake_slurm(tmp_path):
    """sbatch, srun and scontrol that record how they were called."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in [('sbatch', FAKE_SBATCH), ('srun', FAKE_SRUN),
                       ('scontrol', FAKE_SCONTROL)]:
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    log = tmp_path / 'calls.log'
    env = dict(os.environ, FAKE_LOG=str(log), PYTHON=sys.executable,
               PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    env.pop('SLURM_RESTART_COUNT', None)

    def slurm_train(*options, **env_extra):
        return subprocess.Popen(
            ['bash', 'tools/slurm_train.sh', 'gpu', 'seg', 'CONFIG.py',
             str(tmp_path / 'work'), *options], cwd=ROOT,
            env=dict(env, **env_extra), text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)

    return slurm_train, log


def test_slurm_job_is_submitted_to_requeue_on_a_signal(fake_slurm):
    slurm_train, log = fake_slurm
    proc = slurm_train('--amp', FAKE_SRUN_STATUS='75')
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PREEMPTED, out
    sbatch, srun, scontrol = log.read_text().splitlines()
    assert '--partition=gpu' in sbatch and '--requeue' in sbatch
    assert '--signal=B:USR1@180' in sbatch and '--ntasks=8' in sbatch
    assert srun.endswith('CONFIG.py --work-dir=' + str(
        log.parent / 'work') + ' --launcher=slurm --amp')
    assert scontrol == 'scontrol requeue 4242'


def test_a_requeued_slurm_job_resumes(fake_slurm):
    slurm_train, log = fake_slurm
    proc = slurm_train('--resume', 'old.pth', SLURM_RESTART_COUNT='1')
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert 'restart 1 of job 4242, resuming' in out
    srun = log.read_text().splitlines()[1]
    assert srun.endswith('--launcher=slurm --resume old.pth --resume')
    assert 'scontrol' not in log.read_text()


def test_slurm_signal_and_requeue_can_be_changed(fake_slurm):
    slurm_train, log = fake_slurm
    proc = slurm_train(SIGNAL='USR1@600', REQUEUE='0', FAKE_SRUN_STATUS='75',
                       SBATCH_ARGS='--time=48:00:00')
    proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PREEMPTED
    sbatch = log.read_text().splitlines()[0]
    assert '--signal=USR1@600' in sbatch and '--no-requeue' in sbatch
    assert '--time=48:00:00' in sbatch
    assert 'scontrol' not in log.read_text()


def test_slurm_batch_script_passes_the_signal_to_the_training(fake_slurm):
    """With --signal=B:USR1@..., slurm signals the batch script only; it
    passes the signal to srun (which passes it to every task)."""
    slurm_train, log = fake_slurm
    proc = slurm_train(FAKE_SRUN_WAIT='1')
    while 'srun waiting' not in (log.read_text() if log.exists() else ''):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGUSR1)  # sbatch exec'd the batch script
    proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PREEMPTED
    assert log.read_text().splitlines()[-2:] == [
        'srun got USR1', 'scontrol requeue 4242']
