# Copyright (c) mmunirep contributors. All rights reserved.
"""What pip installs: the wheel's contents and requirements, and the
model index that ``mim search`` / ``mim download`` read from it."""
import email
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from modelindex.load_model_index import load
from modelindex.utils import full_filepath

import mmunirep

ROOT = Path(__file__).resolve().parents[1]
OPENMMLAB = ('mmcv', 'mmengine', 'mmdet', 'mmsegmentation', 'mmpretrain')
#: The configs of the paper's models (deploy twins and demos excluded).
TASK_CONFIGS = sorted(p.stem for p in (ROOT / 'configs').glob('*.py'))


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """A wheel built from a clean copy of the source tree (the files git
    tracks or would track), as pip builds it from an sdist."""
    tmp = tmp_path_factory.mktemp('wheel')
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    src = tmp / 'src'
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(tmp / 'dist'), str(src)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    path, = (tmp / 'dist').glob('mmunirep-*.whl')
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp / 'unpacked')
        return tmp / 'unpacked', archive.namelist()


def test_wheel_holds_mmunirep_only(wheel):
    _, names = wheel
    top = {name.split('/')[0] for name in names}
    assert top == {'mmunirep', f'mmunirep-{mmunirep.__version__}.dist-info'}
    for required in ('mmunirep/__init__.py',
                     'mmunirep/checkpoints/catalogue.py',
                     'mmunirep/models/backbones/unireplknet.py',
                     'mmunirep/.mim/model-index.yml',
                     'mmunirep/.mim/configs/upernet_unireplknet_t_ade20k.py',
                     'mmunirep/.mim/configs/_base_/unireplknet_in1k.py',
                     'mmunirep/.mim/configs/metafiles/'
                     'unireplknet_imagenet.yml',
                     'mmunirep/.mim/configs/README.md',
                     'mmunirep/.mim/tools/train.py',
                     'mmunirep/.mim/tools/download_checkpoints.py',
                     'mmunirep/.mim/tools/dist_train.sh'):
        assert required in names, required
    assert not any('/tests/' in name or name.startswith('tests')
                   for name in names)


def test_no_openmmlab_package_is_a_hard_requirement(wheel):
    unpacked, _ = wheel
    meta = email.message_from_string(
        (unpacked / f'mmunirep-{mmunirep.__version__}.dist-info' /
         'METADATA').read_text())
    requires = meta.get_all('Requires-Dist')
    hard = [r for r in requires if 'extra ==' not in r]
    assert sorted(re.split(r'[<>=;\s]', r)[0] for r in hard) == [
        'numpy', 'packaging']
    mim = ' '.join(r for r in requires if "extra == 'mim'" in r
                   or 'extra == "mim"' in r)
    for package in OPENMMLAB:
        assert package in mim, package
    assert 'mmcv<2.2.0,>=2.0.0' in mim.replace(' ', '')
    assert {'mim', 'tests', 'deploy'} <= set(meta.get_all('Provides-Extra'))
    deploy = [r for r in requires if 'deploy' in r]
    assert any(r.startswith('onnxruntime') for r in deploy)


def models_of(index):
    return {model.name: model for model in index.models}


@pytest.fixture(scope='module')
def index():
    return load(str(ROOT / 'model-index.yml'))


def test_model_index_lists_every_config(index):
    models = models_of(index)
    assert sorted(models) == TASK_CONFIGS
    for name, model in models.items():
        assert model.config == f'configs/{name}.py'
        assert (ROOT / model.config).is_file()
        assert model.in_collection in {c.name for c in index.collections}
        assert model.results, name
    imports = [line.split('- ')[1] for line in
               (ROOT / 'model-index.yml').read_text().splitlines()
               if line.strip().startswith('- ')]
    assert len(imports) == 3  # one metafile per task


def assert_metafiles_point_to_the_model_zoo(index, root):
    """Each collection's README is ``configs/README.md`` as modelindex
    resolves it (relative to the metafile), and modelindex finds no
    error."""
    for collection in index.collections:
        readme = full_filepath(collection.readme, collection.filepath)
        assert Path(readme).resolve() == root / 'configs' / 'README.md'
    assert not [found for found in index.collect_check_errors()
                if found['errors']]


def test_metafiles_point_to_the_model_zoo(index):
    assert_metafiles_point_to_the_model_zoo(index, ROOT)


def test_installed_layout_answers_mim(wheel):
    """mim reads <package>/.mim/model-index.yml and .mim/<Config>."""
    unpacked, _ = wheel
    mim = unpacked / 'mmunirep' / '.mim'
    index = load(str(mim / 'model-index.yml'))
    models = models_of(index)
    assert sorted(models) == TASK_CONFIGS
    assert all((mim / m.config).is_file() for m in models.values())
    assert_metafiles_point_to_the_model_zoo(index, mim.resolve())


def model_zoo_rows():
    """Results rows of the model zoo (configs/README.md): config name -> the
    numbers in its row."""
    rows = {}
    for line in (ROOT / 'configs' / 'README.md').read_text().splitlines():
        match = re.match(r'\| \[(\w+)\]\(\1\.py\) \|(.*)\|$', line)
        if match:
            rows[match.group(1)] = [
                float(x) for x in re.findall(r'(\d+(?:\.\d+)?)[MG]?\b',
                                             match.group(2))]
    return rows


def test_metafile_numbers_equal_the_model_zoo(index):
    rows = model_zoo_rows()
    assert sorted(rows) == TASK_CONFIGS
    for name, model in models_of(index).items():
        meta = model.metadata.data
        metrics = [v for result in model.results
                   for v in result.metrics.values()]
        numbers = rows[name]
        # the row ends with: ... paper metrics, ours params (M), ours FLOPs
        assert numbers[-2:] == [meta['Parameters'] / 1e6,
                                meta['FLOPs'] / 1e9], name
        assert numbers[-2 - len(metrics):-2] == metrics, name
