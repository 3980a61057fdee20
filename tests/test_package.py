# Copyright (c) mmunirep contributors. All rights reserved.
"""The package, its registry and its environment check."""
import subprocess
import sys
import textwrap
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

import mmunirep
from mmunirep.env_check import find_problems

ROOT = Path(__file__).resolve().parents[1]


def run_python(code, **env_extra):
    import os
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, cwd=ROOT)


def test_version_matches_setup_py():
    result = subprocess.run([sys.executable, 'setup.py', '--version'],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == mmunirep.__version__
    assert installed_version('mmunirep') == mmunirep.__version__
    assert mmunirep.version_info == tuple(
        int(p) for p in mmunirep.__version__.split('.'))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_registry_resolves_from_downstream_scope_without_imports(scope):
    """A fresh interpreter that never imports mmunirep builds our backbone
    by its scoped name from another package's registry."""
    result = run_python(f'''
        import sys
        from mmengine.registry import init_default_scope
        from {scope}.registry import MODELS
        init_default_scope('{scope}')
        assert 'mmunirep' not in sys.modules
        model = MODELS.build(dict(type='mmunirep.UniRepLKNet', arch='a'))
        print(type(model).__module__, type(model).__name__)
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        'mmunirep.models.backbones.unireplknet', 'UniRepLKNet']


def test_find_problems():
    good = {'torch': '2.14.1+cu130', 'mmcv': '2.1.0', 'mmengine': '0.10.7'}
    assert find_problems(good, None) == []
    problems = find_problems(dict(good, mmcv='2.2.0'), None)
    assert problems == ['mmcv 2.2.0 is installed, but mmunirep needs '
                        'mmcv>=2.0.0,<2.2.0.']
    problems = find_problems(dict(good, torch=None, mmengine='1.0.0'),
                             'mmcv._ext is missing')
    assert len(problems) == 3
    assert 'torch is not installed' in problems[0]
    assert 'mmengine 1.0.0 is installed' in problems[1]
    assert 'no usable compiled ops (mmcv._ext is missing)' in problems[2]


@pytest.mark.parametrize('fake_version, expected', [
    ('2.2.0', 'mmcv 2.2.0 is installed, but mmunirep needs mmcv>=2.0.0,<2.2.0'),
    ('2.1.0', 'mmcv 2.1.0 has no usable compiled ops (mmcv._ext is missing'),
])
def test_wrong_mmcv_gives_a_clear_message(tmp_path, fake_version, expected):
    fake = tmp_path / 'mmcv'
    fake.mkdir()
    (fake / '__init__.py').write_text(f'__version__ = {fake_version!r}\n')
    result = run_python('import mmunirep', PYTHONPATH=str(tmp_path))
    assert result.returncode != 0
    assert 'EnvironmentMismatchError' in result.stderr
    assert expected in result.stderr
    assert 'bash tools/setup_env.sh' in result.stderr
    # the message also reaches users who only name our types in a config
    result = run_python('''
        from mmengine.registry import MODELS
        MODELS.build(dict(type='mmunirep.UniRepLKNet'))
    ''', PYTHONPATH=str(tmp_path))
    assert expected in result.stderr


def test_mim_layout_exposes_configs_and_tools():
    mim = Path(mmunirep.__file__).parent / '.mim'
    assert (mim / 'tools' / 'setup_env.sh').is_file()
    assert (mim / 'configs').is_dir()
