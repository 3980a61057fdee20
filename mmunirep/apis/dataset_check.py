# Copyright (c) mmunirep contributors. All rights reserved.
"""Check a config's dataset files before training on them.

For users who bring their own data: a label map smaller than its image
trains without complaint in mmseg and fails only at validation with an
``IndexError``; a truncated COCO json fails with a ``JSONDecodeError`` that
names no file. :func:`check_dataset` reads every file of the chosen splits
as the pipelines would and reports each bad file with the fix:

- images that cannot be decoded (missing, empty, truncated, not an image);
- missing or malformed annotation files (COCO json: the file and the
  position of the error; missing ``images`` / ``annotations`` /
  ``categories``);
- segmentation label maps whose size differs from their image;
- label values beyond the number of classes (other than the ignore index);
- dataset categories that differ from the config's classes (COCO category
  names, the number of classes of the model's heads);
- empty splits.
"""
import contextlib
import json
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.registry import DATASETS, init_default_scope
from PIL import Image

from mmunirep.utils import iter_config_nodes, task_of

#: Dataset wrappers and where they keep the wrapped dataset(s).
WRAPPERS = dict(RepeatDataset='dataset', ClassBalancedDataset='dataset',
                MultiImageMixDataset='dataset', ConcatDataset='datasets')
#: Keys every COCO instance annotation file has.
COCO_KEYS = ('images', 'annotations', 'categories')
COCO_FIX = ('restore the COCO json (copy or download it again, or regenerate '
            'it); python tools/check_dataset.py CONFIG checks every file')


@dataclass
class DatasetProblem:
    """One bad file (or split) and how to fix it.

    Attributes:
        split (str): 'train', 'val' or 'test'.
        kind (str): A short name of the kind of problem, for grouping.
        path (str): The file (or folder) at fault.
        detail (str): What is wrong with it.
        fix (str): What to do.
    """
    split: str
    kind: str
    path: str
    detail: str
    fix: str

    def __str__(self) -> str:
        return f'[{self.split}] {self.path}: {self.detail}. Fix: {self.fix}'


class DatasetCheckError(ValueError):
    """A dataset with problems; ``problems`` lists them."""

    def __init__(self, problems: List[DatasetProblem]) -> None:
        self.problems = problems
        super().__init__(describe_problems(problems))


def describe_problems(problems: Sequence[DatasetProblem],
                      per_kind: int = 5) -> str:
    """The problems grouped by kind, ``per_kind`` files each."""
    groups = OrderedDict()
    for problem in problems:
        groups.setdefault((problem.split, problem.kind), []).append(problem)
    lines = [f'{len(problems)} dataset problem(s):']
    for (split, kind), group in groups.items():
        lines.append(f'{kind} ({split}, {len(group)}):')
        lines += [f'  {p}' for p in group[:per_kind]]
        if len(group) > per_kind:
            lines.append(f'  ... and {len(group) - per_kind} more')
    return '\n'.join(lines)


# ------------------------------------------------------------------ files
def _join(data_root: str, path: Optional[str]) -> Optional[str]:
    """A dataset path as MMEngine's BaseDataset resolves it."""
    if path and data_root and not osp.isabs(path):
        return osp.join(data_root, path)
    return path


def image_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a readable image, or None."""
    if not osp.isfile(path):
        return 'the file does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty (0 bytes)'
    try:
        with Image.open(path) as image:
            image.load()
    except Exception as err:  # PIL raises many kinds for bad files
        return f'cannot be decoded as an image ({type(err).__name__}: {err})'
    return None


def image_size(path: str) -> tuple:
    """(height, width) of an image file."""
    with Image.open(path) as image:
        return image.height, image.width


def read_label_map(path: str) -> np.ndarray:
    """A label PNG as mmseg's LoadAnnotations reads it ('unchanged')."""
    with Image.open(path) as image:
        return np.array(image)


def read_json(path: str) -> tuple:
    """``(data, None)`` or ``(None, why the file is not usable JSON)``."""
    if not osp.isfile(path):
        return None, 'the annotation file does not exist'
    with open(path, 'rb') as f:
        raw = f.read()
    if not raw.strip():
        return None, 'the annotation file is empty'
    try:
        return json.loads(raw), None
    except UnicodeDecodeError as err:
        return None, f'the annotation file is not UTF-8 text ({err})'
    except json.JSONDecodeError as err:
        where = (f'line {err.lineno} column {err.colno} (character '
                 f'{err.pos} of {len(raw)})')
        truncated = ' - the file ends early, it is truncated' \
            if err.pos >= len(raw.rstrip()) else ''
        return None, f'invalid JSON at {where}: {err.msg}{truncated}'


def read_coco(path: str) -> tuple:
    """``(coco dict, None)`` or ``(None, why it is no COCO instance file)``.
    """
    coco, problem = read_json(path)
    if problem:
        return None, problem
    missing = [k for k in COCO_KEYS
               if not isinstance(coco, dict) or not isinstance(coco.get(k),
                                                               list)]
    if missing:
        return None, (f'no {", ".join(repr(k) for k in missing)} list (a '
                      'COCO instance file has images, annotations and '
                      'categories)')
    return coco, None


# --------------------------------------------------------------- datasets
def leaf_datasets(dataset_cfg: dict) -> List[dict]:
    """The dataset configs inside wrappers (RepeatDataset, ...)."""
    key = WRAPPERS.get(str(dataset_cfg.get('type', '')).split('.')[-1])
    if key is None:
        return [dataset_cfg]
    inner = dataset_cfg[key]
    inner = inner if isinstance(inner, (list, tuple)) else [inner]
    return [leaf for cfg in inner for leaf in leaf_datasets(cfg)]


def model_num_classes(cfg: Config) -> List[tuple]:
    """``(key, num_classes)`` of every head of ``cfg.model`` that sets it
    (decode / auxiliary heads, classification head), e.g.
    ``('model.decode_head.num_classes', 150)``."""
    return [(f'{path}.num_classes', node['num_classes'])
            for path, node in iter_config_nodes(cfg.model, 'model')
            if isinstance(node.get('num_classes'), int)]


def _build_lazily(dataset_cfg: dict):
    """Build a dataset without loading its annotations yet."""
    cfg = ConfigDict(dataset_cfg)
    cfg.update(lazy_init=True, serialize_data=False)
    cfg.pop('pipeline', None)
    return DATASETS.build(cfg)


def check_seg_split(dataset_cfg: dict, split: str,
                    heads: List[tuple]) -> List[DatasetProblem]:
    """An mmseg dataset (ADE20K layout): images, label maps, label values.
    """
    problems = []
    dataset = _build_lazily(dataset_cfg)
    img_dir = dataset.data_prefix.get('img_path')
    try:
        dataset.full_init()
    except Exception as err:  # missing folders, unreadable split files
        return [DatasetProblem(
            split, 'unreadable dataset', str(img_dir),
            f'{type(err).__name__}: {err}',
            'check data_root and data_prefix in the config')]
    num_classes = len(dataset.metainfo['classes'])
    ignore = dataset.ignore_index
    for head, classes in heads:
        if classes != num_classes:
            problems.append(DatasetProblem(
                split, 'classes differ from the model', head,
                f'{classes}, but the dataset has {num_classes} '
                f'classes {tuple(dataset.metainfo["classes"])}',
                'make the heads\' num_classes equal to the number of classes '
                '(metainfo) of the dataset'))
    if len(dataset) == 0:
        problems.append(DatasetProblem(
            split, 'empty split', str(img_dir),
            f'no images with suffix {dataset.img_suffix!r}',
            'check data_root, data_prefix.img_path and img_suffix'))
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        image = info['img_path']
        problem = image_problem(image)
        if problem:
            problems.append(DatasetProblem(
                split, 'unreadable image', image, problem,
                'replace or remove the image'))
            continue
        label_path = info.get('seg_map_path')
        if label_path is None:
            continue
        problem = image_problem(label_path)
        if problem:
            problems.append(DatasetProblem(
                split, 'missing or unreadable label map', label_path,
                f'{problem} (label map of {image})',
                'add the label PNG (same name, seg_map_suffix) or remove the '
                'image'))
            continue
        label = read_label_map(label_path)
        height, width = image_size(image)
        if label.shape[:2] != (height, width):
            problems.append(DatasetProblem(
                split, 'label map size differs from its image', label_path,
                f'{label.shape[1]}x{label.shape[0]} (WxH), but {image} is '
                f'{width}x{height}',
                'write the label map at the size of its image (resize with '
                'nearest-neighbour interpolation)'))
        if label.ndim != 2:
            problems.append(DatasetProblem(
                split, 'label map is not single-channel', label_path,
                f'shape {label.shape}', 'save labels as a single-channel '
                '(L or P mode) PNG of class indices'))
            continue
        bad = label_values_beyond(np.unique(label), num_classes, ignore,
                                  info.get('reduce_zero_label', False),
                                  info.get('label_map'))
        if bad:
            problems.append(DatasetProblem(
                split, 'label values beyond num_classes', label_path,
                f'values {bad} (as stored) map beyond the {num_classes} '
                f'classes and are not the ignore index {ignore}',
                'fix the label map, or the classes / reduce_zero_label of '
                'the config'))
    return problems


def label_values_beyond(values: Iterable[int], num_classes: int, ignore: int,
                        reduce_zero_label: bool,
                        label_map: Optional[dict] = None) -> List[int]:
    """Stored label values that become neither a class nor ``ignore`` after
    mmseg's ``LoadAnnotations`` (label map, then reduce_zero_label)."""
    bad = []
    for stored in (int(v) for v in values):
        value = (label_map or {}).get(stored, stored)
        if reduce_zero_label:
            value = ignore if value == 0 else value - 1
            value = ignore if value == 254 else value
        if value != ignore and not 0 <= value < num_classes:
            bad.append(stored)
    return bad


def check_coco_split(dataset_cfg: dict, split: str) -> List[DatasetProblem]:
    """An mmdet COCO-style dataset: the json, its categories, the images."""
    data_root = dataset_cfg.get('data_root', '')
    ann_file = _join(data_root, dataset_cfg.get('ann_file'))
    if not ann_file:
        return [DatasetProblem(split, 'no annotation file', split,
                               'the dataset config sets no ann_file',
                               'set ann_file to the COCO json')]
    coco, problem = read_coco(ann_file)
    if problem:
        return [DatasetProblem(split, 'bad annotation file', ann_file,
                               problem, COCO_FIX)]
    problems = []
    classes = (dataset_cfg.get('metainfo') or {}).get('classes') or \
        DATASETS.get(dataset_cfg['type']).METAINFO['classes']
    names = [c.get('name') for c in coco['categories']]
    for absent, where in ((sorted(set(classes) - set(names)), 'config'),
                          (sorted(set(names) - set(classes)), 'file')):
        if absent:
            other = 'file' if where == 'config' else 'config'
            problems.append(DatasetProblem(
                split, 'categories differ from the classes', ann_file,
                f'the {where} has categories {absent} that the {other} does '
                'not', 'make metainfo.classes of the config equal the '
                "category names of the file (mmdet maps labels by name)"))
    if not coco['images']:
        problems.append(DatasetProblem(split, 'empty split', ann_file,
                                       'the file lists no images',
                                       'pass the annotation file of a split '
                                       'with images'))
    img_dir = _join(data_root, (dataset_cfg.get('data_prefix') or {}).get(
        'img', '')) or ''
    image_ids = set()
    for entry in coco['images']:
        image_ids.add(entry.get('id'))
        path = osp.join(img_dir, str(entry.get('file_name')))
        problem = image_problem(path)
        if problem:
            problems.append(DatasetProblem(
                split, 'unreadable image', path, problem,
                'replace the image or remove it (and its annotations) from '
                'the json'))
        elif image_size(path) != (entry.get('height'), entry.get('width')):
            problems.append(DatasetProblem(
                split, 'image size differs from the json', path,
                f'{image_size(path)[1]}x{image_size(path)[0]} (WxH), the json '
                f'says {entry.get("width")}x{entry.get("height")}',
                'fix width/height in the json (masks are decoded at that '
                'size)'))
    category_ids = {c.get('id') for c in coco['categories']}
    for ann in coco['annotations']:
        if ann.get('image_id') not in image_ids or \
                ann.get('category_id') not in category_ids:
            problems.append(DatasetProblem(
                split, 'annotation refers to nothing', ann_file,
                f'annotation id {ann.get("id")} has image_id '
                f'{ann.get("image_id")} and category_id '
                f'{ann.get("category_id")}, not both listed',
                'remove the annotation or add its image / category'))
    return problems


def check_cls_split(dataset_cfg: dict, split: str,
                    heads: List[tuple]) -> List[DatasetProblem]:
    """An mmpretrain dataset: images and labels against num_classes."""
    dataset = _build_lazily(dataset_cfg)
    try:
        dataset.full_init()
    except Exception as err:  # missing folders or annotation lists
        return [DatasetProblem(
            split, 'unreadable dataset', str(dataset.ann_file or
                                             dataset.data_prefix),
            f'{type(err).__name__}: {err}',
            'check data_root, ann_file and data_prefix in the config')]
    if len(dataset) == 0:
        return [DatasetProblem(split, 'empty split', str(dataset.data_root),
                               'no images', 'check data_root and ann_file')]
    problems = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        problem = image_problem(info['img_path'])
        if problem:
            problems.append(DatasetProblem(split, 'unreadable image',
                                           info['img_path'], problem,
                                           'replace or remove the image'))
        label = int(info.get('gt_label', -1))
        for head, classes in heads:
            if not -1 <= label < classes:
                problems.append(DatasetProblem(
                    split, 'label values beyond num_classes', info['img_path'],
                    f'label {label}, but {head}={classes}',
                    'fix the label or num_classes'))
    return problems


def check_dataset(cfg: Config,
                  splits: Sequence[str] = ('train', 'val')
                  ) -> List[DatasetProblem]:
    """Check the files of the given splits of a detection, segmentation or
    classification config.

    Args:
        cfg (Config): The config (its ``{split}_dataloader.dataset``).
        splits (Sequence[str]): Any of 'train', 'val', 'test'. Defaults to
            ('train', 'val').

    Returns:
        list[DatasetProblem]: Every problem found (empty if none).
    """
    task = task_of(cfg)
    init_default_scope(task)
    heads = model_num_classes(cfg)
    problems = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or not loader.get('dataset'):
            problems.append(DatasetProblem(
                split, 'no dataset', f'{split}_dataloader',
                'the config defines no dataset for this split',
                f'add {split}_dataloader.dataset, or check other splits'))
            continue
        for dataset_cfg in leaf_datasets(loader['dataset']):
            if task == 'mmseg':
                problems += check_seg_split(dataset_cfg, split, heads)
            elif task == 'mmdet':
                problems += check_coco_split(dataset_cfg, split)
            else:
                problems += check_cls_split(dataset_cfg, split, heads)
    return problems


def annotation_file_problems(cfg: Config,
                             splits: Sequence[str] = ('train', 'val', 'test')
                             ) -> List[DatasetProblem]:
    """Only the COCO annotation files of a detection config (quick): to name
    the file when dataset building failed."""
    if cfg.get('default_scope') != 'mmdet':
        return []
    problems = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader') or {}
        for dataset_cfg in leaf_datasets(loader.get('dataset') or {}):
            ann_file = _join(dataset_cfg.get('data_root', ''),
                             dataset_cfg.get('ann_file'))
            if not ann_file:
                continue
            problem = read_coco(ann_file)[1]
            if problem:
                problems.append(DatasetProblem(split, 'bad annotation file',
                                               ann_file, problem, COCO_FIX))
    return problems


@contextlib.contextmanager
def name_bad_annotation_files(cfg: Config, runner):
    """Re-raise a failure before training or testing began (while the
    datasets were built) as a :class:`DatasetCheckError` naming the bad
    annotation file, if one is: mmdet and pycocotools report a broken json
    without its name."""
    try:
        yield
    except Exception as err:
        started = 'iter' in runner.message_hub.runtime_info
        problems = [] if started else annotation_file_problems(cfg)
        if problems:
            raise DatasetCheckError(problems) from err
        raise
