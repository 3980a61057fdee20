# Copyright (c) mmunirep contributors. All rights reserved.
"""tools/make_wheelhouse.sh: the wheels it collects are enough to run the
GPU benchmark on a machine with torch but no OpenMMLab package and no
internet (simulated: the wheels installed into a folder put first on the
path, no index)."""
import os
import subprocess
import sys

import pytest

from tests.test_tools.conftest import ROOT, run_tool


def test_wheelhouse_runs_the_gpu_benchmark_offline(tmp_path):
    wheels, site, out = tmp_path / 'wheels', tmp_path / 'site', tmp_path / 'o'
    result = subprocess.run(
        ['bash', str(ROOT / 'tools/make_wheelhouse.sh'), str(wheels)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and ('Could not find' in result.stderr or
                                   'connection' in result.stderr.lower()):
        pytest.skip(f'no package registry here: {result.stderr[-300:]}')
    assert result.returncode == 0, result.stderr[-2000:]
    names = {p.name.split('-')[0].lower() for p in wheels.glob('*.whl')}
    assert {'mmunirep', 'mmcv_lite', 'mmengine', 'mmpretrain'} <= names
    assert not any(n.startswith(('torch', 'mmdet', 'mmsegmentation'))
                   for n in names)
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                    '--no-index', '--no-deps', '--target', str(site),
                    *map(str, wheels.glob('*.whl'))], check=True)
    tool = site / 'mmunirep/.mim/tools/analysis/gpu_benchmark.py'
    check = run_tool(tool, '--out', out, '--device', 'cpu', '--tiny',
                     env=dict(PYTHONPATH=str(site)))
    # mmcv without ops: a warning, and everything the benchmark needs runs
    assert 'compiled ops' in check.stderr
    assert (out / 'gpu_benchmark.md').is_file()
    # outside the checkout, which would shadow the installed mmunirep
    imported = subprocess.run(
        [sys.executable, '-c', 'import mmcv, mmengine, mmpretrain, mmunirep;'
         'print(mmcv.__file__, mmengine.__file__, mmunirep.__file__)'],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(site)),
        capture_output=True, text=True, check=True)
    assert imported.stdout.count(str(site)) == 3, imported.stdout
