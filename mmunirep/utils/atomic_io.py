# Copyright (c) mmunirep contributors. All rights reserved.
"""Write files so that a crash never leaves a partial file under the real
name, and check output paths before anything is written.

A write goes to a temporary file in the destination's directory (so the
final rename stays on one file system), is flushed and fsync'ed, and then
``os.replace``-d onto the destination, which POSIX makes atomic: readers see
the old file or the complete new one, never a mixture. The directory is
fsync'ed too, so the rename itself survives a power cut.
"""
import contextlib
import errno
import os
import os.path as osp
import tempfile
from typing import IO, Iterator, Sequence

import torch

from .disk_space import format_bytes, free_bytes

#: Temporary files carry this marker, so that leftovers of a killed writer
#: can be recognised (and only those removed).
TEMP_MARKER = '.mmunirep-tmp-'


class DiskFullError(OSError):
    """No space was left on the device while ``path`` was written
    atomically: the temporary file is removed and ``path`` is as it was.

    Args:
        path (str): The destination that was being written.
        free (int): Bytes free on its file system after the failure.
    """

    def __init__(self, path: str, free: int) -> None:
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        self.path = path
        self.free = free

    def __str__(self) -> str:
        return (f'no space left on the device while writing {self.path} '
                f'({format_bytes(self.free)} free there); nothing was '
                f'written and {self.path} is as it was. Free some space, or '
                'write to another disk')


def temp_prefix(path: str) -> str:
    """The name prefix of the temporary files written for ``path``."""
    return f'.{osp.basename(path)}{TEMP_MARKER}'


def _new_file_mode(path: str) -> int:
    """The permissions ``open(path, 'w')`` would give: the existing file's,
    else 0o666 minus the umask (``mkstemp`` alone would give 0o600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_directory(directory: str) -> None:
    """Make a rename or removal in ``directory`` durable (no-op where the
    platform cannot open directories)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb') -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is left
    as it was; a full disk (ENOSPC) is raised as :class:`DiskFullError`.

    Args:
        path (str): The destination file.
        mode (str): 'wb' or 'w'. Defaults to 'wb'.

    Yields:
        IO: The open temporary file.

    Raises:
        DiskFullError: The device filled up during the write.

    Example:
        >>> with atomic_write('out.json', 'w') as f:
        ...     f.write('{}')
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode}")
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=temp_prefix(path), dir=directory)
    try:
        os.chmod(temp, _new_file_mode(path))
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise DiskFullError(path, free_bytes(directory)) from err
        raise
    fsync_directory(directory)


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, 'wb') as f:
        f.write(data)


def atomic_write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    atomic_write_bytes(text.encode('utf-8'), path)


def atomic_torch_save(obj: object, path: str) -> None:
    """``torch.save(obj, path)``, atomically."""
    with atomic_write(path, 'wb') as f:
        torch.save(obj, f)


def remove_stale_temp_files(directory: str) -> list:
    """Remove the temporary files a killed writer left in ``directory``.

    Only files whose names carry :data:`TEMP_MARKER` are touched.

    Returns:
        list[str]: The removed paths.
    """
    removed = []
    if not osp.isdir(directory):
        return removed
    for name in os.listdir(directory):
        path = osp.join(directory, name)
        if name.startswith('.') and TEMP_MARKER in name and osp.isfile(path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
                removed.append(path)
    return removed


class OutputPathError(ValueError):
    """An output path a tool must not write to; the message says why."""


def check_output_path(path: str, inputs: Sequence[str] = (),
                      what: str = 'OUT') -> None:
    """Refuse an output path that is a directory or that reaches an input.

    Args:
        path (str): Where a tool is about to write a file.
        inputs (Sequence[str]): Files the tool reads; ``path`` must not be
            any of them, by name or through a symbolic or hard link.
        what (str): How the tool's help names the output. Defaults to 'OUT'.

    Raises:
        OutputPathError: ``path`` is a directory or one of ``inputs``.
    """
    if osp.isdir(path):
        raise OutputPathError(
            f'{what} {path} is a directory; give a file name, e.g. '
            f'{osp.join(path, "deploy.pth")}')
    for source in inputs:
        same = osp.realpath(path) == osp.realpath(source) or (
            osp.exists(path) and osp.exists(source)
            and osp.samefile(path, source))
        if same:
            raise OutputPathError(
                f'{what} {path} is the same file as the input {source} (by '
                'name, or through a symbolic or hard link); writing it would '
                f'destroy the input. Choose another {what}.')
