# Copyright (c) mmunirep contributors. All rights reserved.
"""A CheckpointHook that never leaves a run without a complete checkpoint."""
import contextlib
import math
import os.path as osp
from typing import Iterator, Optional

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from mmunirep.engine.checkpoint_space import (disk_full_message,
                                              estimate_checkpoint_bytes,
                                              space_warning, tensor_bytes)
from mmunirep.engine.training_stop import (EXIT_DISK_FULL, resume_command,
                                           stop_training)
from mmunirep.registry import HOOKS
from mmunirep.utils.atomic_io import (DiskFullError, atomic_write_bytes,
                                      atomic_write_text,
                                      remove_stale_temp_files)
from mmunirep.utils.disk_space import free_bytes

#: The MMEngine file backend that :class:`AtomicCheckpointHook` saves with.
ATOMIC_BACKEND = 'mmunirep_atomic_local'


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend, with atomic ``put`` / ``put_text``
    (temporary file, fsync, rename; see :mod:`mmunirep.utils.atomic_io`)."""

    def put(self, obj: bytes, filepath) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write_bytes(obj.encode(encoding), str(filepath))


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


class _DeferredRemovals:
    """A file backend whose ``remove`` / ``rmtree`` only record the path."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.paths = []

    def remove(self, path) -> None:
        self.paths.append(path)

    def rmtree(self, path) -> None:
        self.paths.append(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's CheckpointHook, crash-safe on local disks.

    MMEngine's hook removes the outdated checkpoint first and then writes
    the new one in place, so a kill during a save (``max_keep_ckpts=1``)
    can leave no complete checkpoint, a partial ``.pth`` and a
    ``last_checkpoint`` that names a deleted file. This hook, for every
    save (periodic, last and best):

    1. writes the checkpoint to a temporary file in the same directory,
       fsyncs it and renames it to its name (atomic);
    2. then replaces ``last_checkpoint`` the same way;
    3. only then removes the checkpoints that are out of ``max_keep_ckpts``
       (or the previous best).

    So at every instant at least one complete checkpoint exists and
    ``last_checkpoint`` names one. Temporary files left by a killed run are
    removed when training starts again.

    Before training it warns if the checkpoints it will keep (the weights
    and optimizer state, times ``max_keep_ckpts`` plus the one being
    written) would not fit in the free space. If a save fills the disk, the
    run stops (exit status
    :data:`~mmunirep.engine.training_stop.EXIT_DISK_FULL`, no traceback,
    every process together) with the file, the checkpoint's size, the free
    space, the newest intact checkpoint and how to resume.

    The arguments are CheckpointHook's; with ``backend_args``,
    ``file_client_args`` or a remote ``out_dir``
    (``s3://`` ...) saving falls back to MMEngine's (not atomic), and the
    log says so.

    Example:
        >>> default_hooks = dict(checkpoint=dict(
        ...     type='mmunirep.AtomicCheckpointHook', interval=4000,
        ...     by_epoch=False, max_keep_ckpts=1))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.atomic = self.file_client_args is None and \
            self.backend_args is None
        if self.atomic:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        self._checkpoint_bytes: Optional[int] = None
        self._saving = 0  # nesting depth of :meth:`stop_when_disk_full`

    def before_train(self, runner) -> None:
        """Pick the backend, then remove leftovers of a killed save."""
        out_dir = str(self.out_dir or runner.work_dir)
        if self.atomic and '://' in out_dir:
            self.atomic, self.backend_args = False, None
        if not self.atomic:
            runner.logger.warning(
                'AtomicCheckpointHook: checkpoints go through a custom or '
                f'remote file backend ({out_dir}); they are saved as '
                "MMEngine's CheckpointHook saves them, not atomically")
        super().before_train(runner)
        if self.atomic and is_main_process():
            for path in remove_stale_temp_files(self.out_dir):
                runner.logger.info(f'Removed {path}, the temporary file of a '
                                   'checkpoint save that was interrupted')
            self._warn_if_space_is_short(runner)

    def _warn_if_space_is_short(self, runner) -> None:
        """Warn if the checkpoints to keep would not fit in the free space."""
        model_bytes, optimizer_bytes = estimate_checkpoint_bytes(
            runner.model, runner.optim_wrapper)
        length = runner.max_epochs if self.by_epoch else runner.max_iters
        saves = math.ceil(max(length - self.save_begin, 0) /
                          self.interval) if self.interval > 0 else 0
        warning = space_warning(
            model_bytes, optimizer_bytes if self.save_optimizer else 0,
            self.max_keep_ckpts, max(saves, int(self.save_last)),
            bool(self.save_best), free_bytes(self.out_dir), self.out_dir)
        if warning:
            runner.logger.warning(warning)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Note the size of the checkpoint about to be written."""
        self._checkpoint_bytes = tensor_bytes(checkpoint)

    @contextlib.contextmanager
    def stop_when_disk_full(self, runner) -> Iterator[None]:
        """Stop the run, on every process, if a save in the block fills the
        disk.

        Every process must enter the block (the outermost one ends with an
        all-reduce in distributed runs); the save itself happens on the
        main process only.

        Raises:
            TrainingStopped: With :data:`EXIT_DISK_FULL` and the message of
                :func:`~mmunirep.engine.checkpoint_space.disk_full_message`.
        """
        self._saving += 1
        failure = None
        try:
            yield
        except DiskFullError as err:
            failure = err
        finally:
            self._saving -= 1
        if self._saving:
            if failure is not None:
                raise failure
            return
        failed = torch.tensor([int(failure is not None)])
        if get_world_size() > 1:
            all_reduce(failed, op='max')
        if failed.item():
            stop_training(EXIT_DISK_FULL,
                          self._disk_full_message(runner, failure),
                          runner.logger)

    def _disk_full_message(self, runner, failure: Optional[DiskFullError]
                           ) -> str:
        if failure is None:  # another process failed to save
            return 'No space left on the device: the main process could ' \
                   'not save a checkpoint (see its log).'
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        last = None
        if osp.isfile(pointer):
            with open(pointer) as f:
                last = f.read().strip() or None
        return disk_full_message(
            failure.path, self._checkpoint_bytes, failure.free,
            last if last and osp.isfile(last) else None,
            resume_command(runner))

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save, point ``last_checkpoint`` at it, then drop outdated ones."""
        if not self.atomic:
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        with self.stop_when_disk_full(runner):
            self._save_atomically(runner, step, meta)

    def _save_atomically(self, runner, step, meta) -> None:
        outdated = []
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(self.last_ckpt,
                          osp.join(runner.work_dir, 'last_checkpoint'))
        self._remove([
            self.file_backend.join_path(self.out_dir,
                                        self.filename_tmpl.format(old))
            for old in outdated
        ])

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's best-checkpoint logic, removing the previous best only
        after the new one is saved."""
        if not self.atomic:
            super()._save_best_checkpoint(runner, metrics)
            return
        backend = self.file_backend
        deferred = self.file_backend = _DeferredRemovals(backend)
        with self.stop_when_disk_full(runner):
            try:
                super()._save_best_checkpoint(runner, metrics)
            finally:
                self.file_backend = backend
            self._remove(deferred.paths)

    def _remove(self, paths) -> None:
        for path in paths:
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)
