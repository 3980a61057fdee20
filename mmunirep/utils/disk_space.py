# Copyright (c) mmunirep contributors. All rights reserved.
"""Free space of a file system and byte counts, as people read them."""
import os.path as osp
import shutil


def format_bytes(size: float) -> str:
    """``size`` bytes as 'B', 'kB', 'MB', 'GB' or 'TB' (powers of 1000), with
    three significant digits, e.g. ``format_bytes(52_300_000) == '52.3 MB'``.
    """
    for unit in ('B', 'kB', 'MB', 'GB'):
        if abs(size) < 999.5:
            return f'{size:.3g} {unit}'
        size /= 1000
    return f'{size:.3g} TB'


def free_bytes(path: str) -> int:
    """Bytes an unprivileged user can still write on the file system that
    holds ``path`` (or, if it does not exist yet, its nearest existing
    parent)."""
    path = osp.abspath(path)
    while not osp.exists(path) and osp.dirname(path) != path:
        path = osp.dirname(path)
    return shutil.disk_usage(path).free
