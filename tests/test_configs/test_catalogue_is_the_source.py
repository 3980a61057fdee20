# Copyright (c) mmunirep contributors. All rights reserved.
"""The file -> config table is written once, in
``mmunirep/checkpoints/catalogue.py``; the configs' start weights, the
metafiles' weights and the model zoo's checkpoints table
(``configs/README.md``) must say what it says."""
import os.path as osp
import re
from pathlib import Path

import pytest
from modelindex.load_model_index import load

from mmunirep.apis import load_config
from mmunirep.checkpoints import LOST, PUBLISHED, pretrained_checkpoints
from mmunirep.checkpoints.catalogue import DEFAULT_ENDPOINT, checkpoint_url

ROOT = Path(__file__).resolve().parents[2]
#: The configs of the paper's models (deploy twins and demos excluded).
CONFIGS = sorted(p.stem for p in (ROOT / 'configs').glob('*.py'))
#: config -> the URL of the file the catalogue says it starts from.
STARTS = {config: entry.url for entry in PUBLISHED.values()
          for config in entry.configs}
#: config -> the URL of the released file it reproduces.
RELEASED = {entry.evaluated_by: entry.url for entry in PUBLISHED.values()
            if entry.evaluated_by}


def test_catalogue_names_existing_configs_and_hub_urls():
    named = [c for entry in PUBLISHED.values() for c in entry.configs]
    assert len(named) == len(set(named)), 'a config starts from two files'
    assert set(named) | set(RELEASED) <= set(CONFIGS)
    for entry in PUBLISHED.values():
        assert entry.url == checkpoint_url(entry.name, DEFAULT_ENDPOINT)
        assert entry.url.startswith(
            'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/')
    # every segmentation and detection config starts from a published file
    assert {c for c in CONFIGS if not c.startswith('unireplknet_')} <= set(
        STARTS)
    # the two lost files: what replaces them
    assert STARTS['upernet_unireplknet_xl_ade20k'] == \
        PUBLISHED['unireplknet_xl_in22k_pretrain.pth'].url
    assert STARTS['cascade_mask_rcnn_unireplknet_s_in22k_coco'] == \
        PUBLISHED['unireplknet_s_in22k_to_in1k_384_acc86.44.pth'].url
    assert not set(LOST) & set(PUBLISHED)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_starts_from_the_catalogue_file(name):
    """The URL a config names, read from the config, is the catalogue's URL
    of the file the catalogue maps to that config; a config the catalogue
    maps to no file trains from scratch or names a lost file's path."""
    checkpoints = pretrained_checkpoints(
        load_config(f'configs/{name}.py').model)
    if name in STARTS:
        assert checkpoints == [STARTS[name]], name
    else:
        assert all(osp.basename(c) in LOST and '://' not in c
                   for c in checkpoints), checkpoints


def test_metafile_weights_are_the_catalogue():
    """"Pretrained Weights": the file a config starts from; "Weights" (and,
    mmpretrain's convention for others' files, "Converted From"): the
    released file a classification config reproduces."""
    models = load(str(ROOT / 'model-index.yml')).models
    assert sorted(model.name for model in models) == CONFIGS
    for model in models:
        assert model.metadata.data.get('Pretrained Weights') == \
            STARTS.get(model.name), model.name
        assert model.weights == RELEASED.get(model.name), model.name
        if model.weights:
            assert model.data['Converted From']['Weights'] == model.weights


def test_model_zoo_checkpoint_table_is_the_catalogue():
    text = (ROOT / 'configs' / 'README.md').read_text()
    section = re.split(r'\n#{2,3} ', text.split('\n## Checkpoints\n')[1])[0]
    assert f'`{checkpoint_url("<file>", DEFAULT_ENDPOINT)}`' in section
    rows = re.findall(r'^\| `(\S+\.pth)` \| (\w+) \|[^|]*\| (.*) \|$',
                      section, re.M)
    assert [name for name, _, _ in rows] == list(PUBLISHED)
    for name, arch, configs in rows:
        entry = PUBLISHED[name]
        assert arch == entry.arch.upper()
        named = re.findall(r'`(\w+)`', configs)
        if entry.configs:
            assert named == list(entry.configs), name
        else:
            assert named == [entry.evaluated_by], name
