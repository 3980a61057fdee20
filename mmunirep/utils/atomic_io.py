# Copyright (c) mmunirep contributors. All rights reserved.
"""Write files atomically: readers see the old file or the complete new one,
never a partial one, and a failed write leaves nothing behind."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator


def _new_file_mode(path: str) -> int:
    """The permissions of the file ``path`` replaces, or those a new file
    gets under the umask (``mkstemp`` creates its files private)."""
    if osp.exists(path):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb') -> Iterator[IO]:
    """Open a temporary file next to ``path`` that replaces ``path`` when the
    block ends; if the block raises, it is removed and ``path`` stays as it
    was. Missing parent directories are created.

    Args:
        path (str): The destination file.
        mode (str): 'wb' or 'w'. Defaults to 'wb'.

    Yields:
        IO: The open temporary file.
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode}")
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                                    dir=directory)
    try:
        os.chmod(tmp_path, _new_file_mode(path))
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise


def atomic_write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_write(path, 'wb') as f:
        f.write(text.encode('utf-8'))
