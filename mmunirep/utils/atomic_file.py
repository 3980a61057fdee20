# Copyright (c) mmunirep contributors. All rights reserved.
"""Write output files atomically: readers see the old file or the new one,
never a half-written one, and a failed write leaves nothing behind."""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator


def _mode_for(path: str) -> int:
    """The permissions ``path`` has, or those a new file gets under the
    umask (``mkstemp`` creates its files private)."""
    if osp.exists(path):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when
    the block finishes without an exception, delete it otherwise.

    The temporary name keeps the suffix of ``path`` (writers such as
    matplotlib choose the format by it) and lies in the same directory, so
    the final ``os.replace`` is atomic. The file gets the permissions of the
    file it replaces, or the umask's for a new one. Missing parent
    directories are created.

    Args:
        path (str): The file to write.

    Yields:
        str: Where to write the content.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    stem, suffix = osp.splitext(osp.basename(path))
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{stem}.', suffix=suffix,
                                    dir=directory)
    os.close(fd)
    try:
        yield tmp_path
        os.chmod(tmp_path, _mode_for(path))
        os.replace(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
