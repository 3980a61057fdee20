# Copyright (c) mmunirep contributors. All rights reserved.
"""tools/make_demo_data.py: layout, determinism, seg / COCO consistency,
dataset loading and the skip-if-unchanged behaviour."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'make_demo_data.py'
SMALL = ['--num-train', '6', '--num-val', '3']
SPLITS = (('train', 'training', 6), ('val', 'validation', 3))


def load_tool():
    """Import the tool as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location('make_demo_data', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def make_data(out, *args):
    """Run the tool as a user would; returns its stdout."""
    result = subprocess.run(
        [sys.executable, str(TOOL), '--out', str(out), *args],
        capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def read_files(root):
    """Relative path -> bytes of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    make_data(out, *SMALL)
    return out


def test_layout(data):
    for split, ade_split, count in SPLITS:
        images = sorted((data / 'ade/images' / ade_split).glob('*.jpg'))
        labels = sorted((data / 'ade/annotations' / ade_split).glob('*.png'))
        coco_images = sorted((data / f'coco/{split}2017').glob('*.jpg'))
        assert len(images) == len(labels) == len(coco_images) == count
        assert [p.stem for p in images] == [p.stem for p in labels]
        assert [p.name for p in images] == [p.name for p in coco_images]
        assert all(a.read_bytes() == b.read_bytes()
                   for a, b in zip(images, coco_images))
        image = cv2.imread(str(images[0]))
        assert image.shape == (128, 160, 3)
        ann_file = data / f'coco/annotations/instances_{split}2017.json'
        assert ann_file.is_file()
    classes = json.loads((data / 'classes.json').read_text())
    assert classes['classes'] == list(tool.CLASSES)
    assert classes['seg_classes'] == ['background'] + list(tool.CLASSES)
    assert len(classes['seg_palette']) == len(classes['seg_classes'])
    meta = json.loads((data / 'meta.json').read_text())
    assert meta['args']['num_train'] == 6 and meta['args']['num_val'] == 3


def test_deterministic(data, tmp_path):
    make_data(tmp_path / 'same', *SMALL)
    assert read_files(tmp_path / 'same') == read_files(data)
    make_data(tmp_path / 'other', *SMALL, '--seed', '1')
    other = read_files(tmp_path / 'other')
    ours = read_files(data)
    assert other.keys() == ours.keys()
    assert all(other[k] != ours[k] for k in ours if k.endswith('.jpg'))


def test_image_independent_of_counts(data, tmp_path):
    make_data(tmp_path, '--num-train', '2', '--num-val', '1')
    for name in ('ade/images/training/train_00001.jpg',
                 'ade/annotations/validation/val_00000.png'):
        assert (tmp_path / name).read_bytes() == (data / name).read_bytes()


@pytest.mark.parametrize('split,ade_split,count', SPLITS)
def test_label_maps_match_coco(data, split, ade_split, count):
    coco = COCO(str(data / f'coco/annotations/instances_{split}2017.json'))
    assert sorted(coco.getImgIds()) == list(range(1, count + 1))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
        tool.CLASSES)
    num_instances = 0
    for info in coco.loadImgs(coco.getImgIds()):
        stem = Path(info['file_name']).stem
        label_map = cv2.imread(
            str(data / 'ade/annotations' / ade_split / f'{stem}.png'),
            cv2.IMREAD_UNCHANGED)
        assert label_map.dtype == np.uint8
        assert label_map.shape == (info['height'], info['width'])
        assert set(np.unique(label_map)) <= set(range(1, 6))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=info['id']))
        assert 2 <= len(anns) <= 5
        num_instances += len(anns)
        class_areas = np.zeros(len(tool.CLASSES))
        for ann in anns:
            check_annotation(ann, coco.annToMask(ann), label_map, info)
            class_areas[ann['category_id'] - 1] += ann['area']
        class_pixels = np.bincount(label_map.ravel(), minlength=6)[2:]
        # instances below MIN_AREA are the only pixels missing from COCO
        assert (class_areas <= class_pixels).all()
        assert (class_pixels - class_areas <= 5 * tool.MIN_AREA).all()
    assert num_instances >= 2 * count


def check_annotation(ann, mask, label_map, info):
    """One COCO annotation against its rasterised polygons and the label
    map of the same scene."""
    x, y, w, h = ann['bbox']
    assert ann['iscrowd'] == 0 and ann['area'] >= tool.MIN_AREA
    assert 0 <= x and 0 <= y and w > 0 and h > 0
    assert x + w <= info['width'] and y + h <= info['height']
    assert all(len(p) >= 6 and len(p) % 2 == 0 for p in ann['segmentation'])
    # the polygons rasterise back to the visible area ...
    assert abs(int(mask.sum()) - ann['area']) <= 0.15 * ann['area']
    box = mask_utils.toBbox(mask_utils.encode(np.asfortranarray(mask)))
    assert np.abs(box - ann['bbox']).max() <= 1
    # ... whose pixels carry the instance's class in the label map
    assert (label_map[mask.astype(bool)] == ann['category_id'] + 1).mean() \
        >= 0.98


def test_mmseg_dataset_reads_output(data):
    from mmengine.registry import init_default_scope
    from mmseg.datasets import BaseSegDataset
    init_default_scope('mmseg')
    for _, ade_split, count in SPLITS:
        dataset = BaseSegDataset(
            data_root=str(data / 'ade'),
            data_prefix=dict(img_path=f'images/{ade_split}',
                             seg_map_path=f'annotations/{ade_split}'),
            img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=True,
            metainfo=dict(classes=tool.SEG_CLASSES,
                          palette=tool.SEG_PALETTE),
            pipeline=[])
        assert len(dataset) == count
        assert dataset.metainfo['classes'] == tool.SEG_CLASSES
        assert Path(dataset[0]['seg_map_path']).is_file()


def test_mmdet_dataset_reads_output(data):
    from mmdet.datasets import CocoDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    for split, _, count in SPLITS:
        ann_file = f'annotations/instances_{split}2017.json'
        dataset = CocoDataset(
            data_root=str(data / 'coco'), ann_file=ann_file,
            data_prefix=dict(img=f'{split}2017/'),
            metainfo=dict(classes=tool.CLASSES, palette=tool.PALETTE),
            pipeline=[])
        assert len(dataset) == count
        raw = json.loads((data / 'coco' / ann_file).read_text())
        info = dataset[0]
        assert Path(info['img_path']).is_file()
        assert len(info['instances']) == sum(
            a['image_id'] == info['img_id'] for a in raw['annotations'])
        assert all(0 <= i['bbox_label'] < 4 for i in info['instances'])


def test_skip_if_unchanged(tmp_path):
    out = tmp_path / 'demo'
    first = make_data(out, *SMALL)
    assert 'Wrote 9 images' in first
    meta_mtime = (out / 'meta.json').stat().st_mtime_ns
    assert 'up to date' in make_data(out, *SMALL)
    assert (out / 'meta.json').stat().st_mtime_ns == meta_mtime
    assert 'Wrote 9 images' in make_data(out, *SMALL, '--force')
    # other arguments: regenerated, and no stale files remain
    assert 'Wrote 3 images' in make_data(out, '--num-train', '2',
                                         '--num-val', '1')
    assert len(list((out / 'coco/train2017').glob('*.jpg'))) == 2
    # a damaged dataset is regenerated
    (out / 'ade/images/training/train_00000.jpg').unlink()
    assert 'Wrote 3 images' in make_data(out, '--num-train', '2',
                                         '--num-val', '1')


def test_default_size(tmp_path):
    stdout = make_data(tmp_path)  # 240 + 60 images; takes a few seconds
    assert 'Wrote 300 images (240 train, 60 val, 160x128)' in stdout
    assert len(list((tmp_path / 'ade/images/training').glob('*.jpg'))) == 240


def test_refuses_a_folder_it_did_not_make(tmp_path):
    """--out data would replace data/ade and data/coco: refused unless
    --overwrite, which replaces only what the tool writes."""
    real = tmp_path / 'data'
    (real / 'ade/ADEChallengeData2016').mkdir(parents=True)
    (real / 'ade/ADEChallengeData2016/a.png').write_bytes(b'user label')
    (real / 'README.txt').write_text('my notes')
    with pytest.raises(SystemExit, match='not made by this tool'):
        tool.main(['--out', str(real), *SMALL])
    assert (real / 'ade/ADEChallengeData2016/a.png').read_bytes() == \
        b'user label'
    assert not (real / tool.MARKER).exists()
    tool.main(['--out', str(real), *SMALL, '--overwrite'])
    assert not (real / 'ade/ADEChallengeData2016').exists()
    assert (real / 'README.txt').read_text() == 'my notes'
    assert (real / tool.MARKER).is_file()
    # the folder is the tool's now: regenerating needs no --overwrite
    tool.main(['--out', str(real), '--num-train', '2', '--num-val', '1'])
    assert len(list((real / 'coco/train2017').glob('*.jpg'))) == 2


def test_recognises_its_older_datasets_by_their_hash(tmp_path):
    """A dataset written before the marker existed is the tool's if its
    meta.json hash matches the content; a modified one is not."""
    out = tmp_path / 'demo'
    make_data(out, *SMALL)
    (out / tool.MARKER).unlink()
    assert 'up to date' in make_data(out, *SMALL)
    (out / 'coco/annotations/instances_val2017.json').write_text('{}')
    with pytest.raises(SystemExit, match='--overwrite'):
        tool.main(['--out', str(out), *SMALL])
