# Copyright (c) mmunirep contributors. All rights reserved.
"""How a training run stops itself on purpose: the exit statuses and the
exception that carries them.

A hook that has to end the run (divergence, preemption, a full disk) logs
its message first, so that it lands in the work directory's log, and then
raises :class:`TrainingStopped`. It is a ``SystemExit``: under any entry
point (our ``tools/train.py`` or mmdet's, mmseg's and mmpretrain's own) the
process ends with the status below and no traceback, and ``finally`` blocks
still run. The statuses follow ``sysexits.h`` and are documented in
docs/troubleshooting.md ("Long runs"); ``tools/slurm_train.sh`` requeues the
job on :data:`EXIT_PREEMPTED`.
"""
import os
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.logging import MMLogger

from mmunirep.utils.atomic_io import atomic_write_text

#: The loss or the weights became non-finite (EX_DATAERR).
EXIT_DIVERGED = 65
#: A checkpoint could not be written: no space left on the device (EX_IOERR).
EXIT_DISK_FULL = 74
#: Stopped on SIGTERM / SIGUSR1 after saving a checkpoint; resume to go on
#: (EX_TEMPFAIL: "try again later").
EXIT_PREEMPTED = 75

#: Set by ``tools/dist_train.sh``: where ``tools/train.py`` writes the exit
#: status of a run that stopped itself, which torchrun would turn into 1.
EXIT_STATUS_FILE_ENV = 'MMUNIREP_EXIT_STATUS_FILE'


class TrainingStopped(SystemExit):
    """A training run that stops itself, with the status that says why.

    Args:
        status (int): :data:`EXIT_DIVERGED`, :data:`EXIT_DISK_FULL` or
            :data:`EXIT_PREEMPTED`.
        message (str): What happened and what to do (already logged).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


def stop_training(status: int, message: str, logger=None) -> None:
    """Log ``message`` as an error on the main process and raise
    :class:`TrainingStopped` (on every process).

    Args:
        status (int): The exit status.
        message (str): What happened and what to do.
        logger (MMLogger, optional): The runner's logger; the current
            MMEngine logger if None.

    Raises:
        TrainingStopped: Always.
    """
    if is_main_process():
        (logger or MMLogger.get_current_instance()).error(message)
    raise TrainingStopped(status, message)


def resume_command(runner) -> str:
    """The command that continues ``runner``'s run from its newest
    complete checkpoint (mmdet's, mmseg's and mmpretrain's own
    tools/train.py take ``--resume`` too)."""
    return (f'python tools/train.py {runner.cfg.filename or "CONFIG"} '
            f'--work-dir {runner.work_dir} --resume')


def record_exit_status(status: int,
                       path: Optional[str] = None) -> Optional[str]:
    """Write ``status`` to the file a launcher asked for, if any.

    Args:
        status (int): The exit status of the stopped run.
        path (str, optional): The file; the value of
            :data:`EXIT_STATUS_FILE_ENV` if None.

    Returns:
        str | None: The file written, or None when none was asked for.
    """
    path = path or os.environ.get(EXIT_STATUS_FILE_ENV)
    if not path:
        return None
    atomic_write_text(f'{status}\n', path)
    return path
