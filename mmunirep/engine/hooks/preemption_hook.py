# Copyright (c) mmunirep contributors. All rights reserved.
"""Save a checkpoint and exit when the cluster asks a training job to stop."""
import os.path as osp
import signal
import threading
from contextlib import nullcontext
from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce, barrier, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook

from mmunirep.engine.training_stop import (EXIT_PREEMPTED, resume_command,
                                           stop_training)
from mmunirep.registry import HOOKS
from mmunirep.utils.atomic_io import atomic_write_text
from .atomic_checkpoint_hook import ATOMIC_BACKEND


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Turn SIGTERM / SIGUSR1 into a checkpoint and a clean exit.

    slurm sends SIGTERM when it preempts a job, and a chosen signal some time
    before the time limit (``sbatch --signal=USR1@180``). The signal handler
    only records the signal. At the end of the iteration in progress (or of
    the validation iteration in progress) the processes agree that one of
    them got it (an all-reduce every ``interval`` iterations in distributed
    runs; every iteration costs nothing in a single process), then the
    checkpoint hook saves the state after that iteration (atomically with
    :class:`AtomicCheckpointHook`; a checkpoint it has just written is
    reused), every process waits for the save, and the run exits with
    :data:`~mmunirep.engine.training_stop.EXIT_PREEMPTED` (75). ``--resume``
    then continues from that checkpoint; ``tools/slurm_train.sh`` requeues
    the job and resumes by itself.

    Epoch-based loops (detection) save ``iter_N.pth`` in the middle of an
    epoch; MMEngine resumes them from the start of that epoch, with the
    weights trained so far.

    Args:
        signals (Sequence[str]): Signal names to handle. Defaults to
            ('SIGTERM', 'SIGUSR1').
        interval (int): Iterations between agreements in distributed runs.
            Defaults to 10.
        enable (bool): False leaves the signals alone. Defaults to True.

    Example:
        >>> default_hooks = dict(preemption=dict(
        ...     type='mmunirep.PreemptionHook', signals=('SIGUSR1', )))
    """

    priority = 'LOWEST'  # after CheckpointHook, whose save it can reuse

    def __init__(self,
                 signals: Sequence[str] = ('SIGTERM', 'SIGUSR1'),
                 interval: int = 10,
                 enable: bool = True) -> None:
        unknown = [name for name in signals
                   if not isinstance(getattr(signal, str(name), None),
                                     signal.Signals)]
        if unknown:
            raise ValueError(f'PreemptionHook signals must be signal names '
                             f"such as 'SIGTERM', 'SIGUSR1'; got {unknown}")
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'PreemptionHook interval must be a positive '
                             f'int, got {interval!r}')
        self.signals = [getattr(signal, name) for name in signals]
        self.interval = interval
        self.enable = enable
        self.received: Optional[int] = None
        self._previous = {}
        self._training = False

    # ------------------------------------------------------------ signals
    def _on_signal(self, signum: int, frame) -> None:
        """Only record the signal: the loop acts at the iteration's end."""
        if self.received is None:
            self.received = signum

    def before_train(self, runner) -> None:
        """Install the signal handlers (the main thread only can)."""
        self._training = True
        if not self.enable:
            return
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning(
                'PreemptionHook: training runs outside the main thread, '
                'where signal handlers cannot be installed; SIGTERM and '
                'SIGUSR1 keep their default action')
            return
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def after_train(self, runner) -> None:
        """Give the signals back their previous handlers."""
        self._training = False
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    # ------------------------------------------------------------ stopping
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Save and exit after this iteration if a signal came (unless it is
        the last one: the run then ends as usual)."""
        if not self.enable or self.is_last_train_iter(runner):
            return
        signum = self._agreed_signal(runner.iter + 1)
        if signum:
            self._save_and_exit(runner, signum, runner.iter + 1,
                                epoch_done=False)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        """Stop a validation inside training that a signal interrupts
        (validation can take minutes; the signal may come early only by
        that much)."""
        if not (self.enable and self._training):
            return
        signum = self._agreed_signal(batch_idx + 1)
        if signum:
            self._save_and_exit(runner, signum, runner.iter, epoch_done=True)

    def _agreed_signal(self, count: int) -> Optional[int]:
        """The signal some process got, as every process sees it.

        Args:
            count (int): Iterations of the loop so far (the same on every
                process); distributed runs agree when it is a multiple of
                ``interval``.
        """
        if get_world_size() == 1:
            return self.received
        if count % self.interval:
            return None
        flag = torch.tensor([self.received or 0])
        all_reduce(flag, op='max')
        return int(flag.item()) or None

    def _save_and_exit(self, runner, signum: int, iters_done: int,
                       epoch_done: bool) -> None:
        """Save the state after ``iters_done`` iterations, wait for every
        process, then exit with :data:`EXIT_PREEMPTED`."""
        path = self._save(runner, iters_done, epoch_done)
        barrier()  # no process leaves before the checkpoint is complete
        name = signal.Signals(signum).name
        stop_training(
            EXIT_PREEMPTED,
            f'{name} received: training stopped after iteration '
            f'{iters_done} and saved {path}. Continue with '
            f'{resume_command(runner)} (a job of tools/slurm_train.sh is '
            f'requeued and resumes by itself). Exit status {EXIT_PREEMPTED}.',
            runner.logger)

    @staticmethod
    def _checkpoint_hook(runner) -> Optional[CheckpointHook]:
        return next((hook for hook in runner.hooks
                     if isinstance(hook, CheckpointHook)), None)

    def _save(self, runner, iters_done: int, epoch_done: bool) -> str:
        """Save the state after ``iters_done`` iterations through the
        checkpoint hook (unless it has just saved it).

        Returns:
            str: The checkpoint's path.
        """
        hook = self._checkpoint_hook(runner)
        if hook is not None and (epoch_done or not hook.by_epoch):
            step = runner.epoch if hook.by_epoch else iters_done
            path = hook.file_backend.join_path(hook.out_dir,
                                               hook.filename_tmpl.format(step))
            if hook.last_ckpt != path:
                hook._save_checkpoint_with_step(
                    runner, step, dict(epoch=runner.epoch, iter=iters_done))
            return path
        # the middle of an epoch of an epoch-based loop, or no checkpoint hook
        out_dir = hook.out_dir if hook is not None else runner.work_dir
        filename = f'iter_{iters_done}.pth'
        path = osp.join(out_dir, filename)
        disk_full_stop = getattr(hook, 'stop_when_disk_full', None)
        with disk_full_stop(runner) if disk_full_stop else nullcontext():
            runner.save_checkpoint(
                out_dir, filename,
                save_optimizer=True if hook is None else hook.save_optimizer,
                save_param_scheduler=True if hook is None else
                hook.save_param_scheduler,
                meta=dict(epoch=runner.epoch, iter=iters_done),
                by_epoch=False,
                backend_args=dict(backend=ATOMIC_BACKEND) if hook is None
                else hook.backend_args)
            if is_main_process():
                atomic_write_text(path, osp.join(runner.work_dir,
                                                 'last_checkpoint'))
        return path
