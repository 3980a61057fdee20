# Copyright (c) mmunirep contributors. All rights reserved.
"""A CheckpointHook that never leaves a run without a complete checkpoint."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from mmunirep.registry import HOOKS
from mmunirep.utils.atomic_io import (atomic_write_bytes, atomic_write_text,
                                      remove_stale_temp_files)

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
    removed when training starts again. The arguments are CheckpointHook's;
    with ``backend_args``, ``file_client_args`` or a remote ``out_dir``
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

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save, point ``last_checkpoint`` at it, then drop outdated ones."""
        if not self.atomic:
            super()._save_checkpoint_with_step(runner, step, meta)
            return
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
