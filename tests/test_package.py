# Copyright (c) mmunirep contributors. All rights reserved.
"""The package, its registry and its environment check."""
import os
import shutil
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
    assert find_problems(good) == []
    assert find_problems(dict(good, torch='2.6.0')) == []
    problems = find_problems(dict(good, mmcv='2.2.0'))
    assert problems == ['mmcv 2.2.0 is installed, but mmunirep needs '
                        'mmcv>=2.0.0,<2.2.0.']
    problems = find_problems(dict(good, torch=None, mmengine='1.0.0'))
    assert len(problems) == 2
    assert 'torch is not installed' in problems[0]
    assert 'mmengine 1.0.0 is installed' in problems[1]
    # add_safe_globals((obj, name)) needs 2.6
    assert find_problems(dict(good, torch='2.5.1')) == [
        'torch 2.5.1 is installed, but mmunirep needs torch>=2.6.0.']


def test_old_torch_is_refused_at_import():
    result = run_python('''
        import torch
        torch.__version__ = '2.5.1'
        import mmunirep
    ''')
    assert result.returncode != 0
    assert 'EnvironmentMismatchError' in result.stderr
    assert 'torch 2.5.1 is installed, but mmunirep needs torch>=2.6.0' \
        in result.stderr


def test_wrong_mmcv_gives_a_clear_message(tmp_path):
    fake = tmp_path / 'mmcv'
    fake.mkdir()
    (fake / '__init__.py').write_text("__version__ = '2.2.0'\n")
    expected = ('mmcv 2.2.0 is installed, but mmunirep needs '
                'mmcv>=2.0.0,<2.2.0')
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


@pytest.fixture(scope='module')
def mmcv_without_ops(tmp_path_factory):
    """A copy of the installed mmcv without its compiled ``_ext`` module:
    what ``pip install mmcv-lite`` (or an mmcv whose ops are not built)
    gives."""
    import mmcv
    root = tmp_path_factory.mktemp('mmcv_lite')
    shutil.copytree(Path(mmcv.__file__).parent, root / 'mmcv',
                    ignore=shutil.ignore_patterns('_ext*', '__pycache__'))
    return f'{root}{os.pathsep}{ROOT}'


def test_backbone_and_classifier_work_without_mmcv_ops(mmcv_without_ops):
    result = run_python('''
        import importlib.util, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import mmunirep
        assert importlib.util.find_spec('mmcv._ext') is None
        print('WARNED', [str(w.message) for w in caught
                         if w.category.__name__ == 'MmcvOpsWarning'])
        import torch
        from mmunirep.apis import build_model, load_config
        from mmunirep.models import UniRepLKNet
        x = torch.rand(1, 3, 64, 64)
        print('BACKBONE', [tuple(o.shape) for o in UniRepLKNet('a')(x)])
        classifier = build_model(load_config('configs/unireplknet_a_in1k.py'))
        print('CLASSIFIER', tuple(classifier(x, mode='tensor').shape))
    ''', PYTHONPATH=mmcv_without_ops)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "WARNED ['mmcv 2.1.0 has no usable compiled ops (mmcv._ext is " \
        'missing' in out
    assert 'classification (mmpretrain) work without them' in out
    assert 'BACKBONE [(1, 40, 16, 16), (1, 80, 8, 8), (1, 160, 4, 4), ' \
        '(1, 320, 2, 2)]' in out
    assert 'CLASSIFIER (1, 1000)' in out


def test_a_missing_dependency_is_named_not_its_importer(mmcv_without_ops):
    """mmcv-lite and mmengine installed, mmengine's dependency rich missing:
    the message shows the real ImportError and the package it names, not
    "mmcv is not installed; mmengine is not installed"."""
    result = run_python('''
        import sys

        class NoRich:
            """As if `rich` were not installed."""

            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] == 'rich':
                    raise ModuleNotFoundError(f'No module named {name!r}',
                                              name=name)

        sys.meta_path.insert(0, NoRich())
        import mmunirep
    ''', PYTHONPATH=mmcv_without_ops)
    assert result.returncode != 0
    err = result.stderr
    assert 'EnvironmentMismatchError' in err
    assert f"mmengine {installed_version('mmengine')} is installed, but " \
        "importing it fails: ModuleNotFoundError: No module named 'rich'" \
        in err
    assert "mmcv 2.1.0 is installed, but importing it fails: " \
        "ModuleNotFoundError: No module named 'rich'" in err
    assert "the module(s) 'rich' that they import are not installed: " \
        '`pip install rich`' in err
    assert 'is not installed;' not in err


def test_detection_and_segmentation_ask_for_mmcv_ops(mmcv_without_ops):
    result = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py'],
        capture_output=True, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=mmcv_without_ops))
    assert result.returncode != 0
    assert "mmdet needs mmcv's compiled ops" in result.stderr
    assert 'mmcv._ext is missing' in result.stderr
    assert 'bash tools/setup_env.sh' in result.stderr
    # the check every tool runs (build_model, tools/train.py, tools/test.py)
    result = run_python('''
        from mmunirep.apis import load_config, runnable_task_of
        for config in ('configs/demo/upernet_unireplknet_a_shapes.py',
                       'configs/unireplknet_a_in1k.py'):
            try:
                print('RUNS', runnable_task_of(load_config(config)))
            except Exception as err:
                print('REFUSED', type(err).__name__, err)
    ''', PYTHONPATH=mmcv_without_ops)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("REFUSED EnvironmentMismatchError mmseg needs "
                               "mmcv's compiled ops")
    assert lines[1] == 'RUNS mmpretrain'


def test_mim_layout_exposes_configs_and_tools():
    mim = Path(mmunirep.__file__).parent / '.mim'
    assert (mim / 'tools' / 'setup_env.sh').is_file()
    assert (mim / 'configs').is_dir()
