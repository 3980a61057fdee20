# Copyright (c) mmunirep contributors. All rights reserved.
"""Atomic output files: all or nothing, with ordinary permissions."""
import os
import stat

import pytest

from mmunirep.utils import atomic_write, atomic_write_text


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_appears_whole_with_umask_permissions(tmp_path):
    path = tmp_path / 'sub' / 'out.png'
    umask = os.umask(0o022)
    try:
        with atomic_write(str(path)) as f:
            f.write(b'new')
            assert not path.exists()
    finally:
        os.umask(umask)
    assert path.read_bytes() == b'new'
    assert mode(path) == 0o644
    assert os.listdir(path.parent) == ['out.png']


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / 'out.json'
    path.write_text('old')
    os.chmod(path, 0o640)
    with pytest.raises(RuntimeError):
        with atomic_write(str(path), 'w') as f:
            f.write('half')
            raise RuntimeError('writer failed')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['out.json']
    atomic_write_text('new', str(path))
    assert path.read_text() == 'new' and mode(path) == 0o640
