# Copyright (c) mmunirep contributors. All rights reserved.
"""Run a detector, segmentor or classifier on image files and draw results.

One code path for the three tasks: the config's own test pipeline (without
annotation loading), the model's ``test_step`` (pre- and post-processing
included) and the task's MMEngine visualizer.
"""
import copy
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DATASETS, VISUALIZERS, init_default_scope
from mmengine.structures import PixelData
from torch import nn

from mmunirep.utils import atomic_write, task_of


def build_test_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline, minus its annotation loading."""
    init_default_scope(task_of(cfg))
    steps = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    steps = [s for s in steps if s['type'] != 'LoadAnnotations']
    return Compose(steps)


def dataset_meta_of(cfg: Config) -> dict:
    """Class names and palette: the dataset class's, updated by the
    config's ``metainfo``."""
    init_default_scope(task_of(cfg))
    dataset_cfg = cfg.test_dataloader.dataset
    meta = dict(getattr(DATASETS.get(dataset_cfg.type), 'METAINFO', {}))
    meta.update(dataset_cfg.get('metainfo') or {})
    return meta


@torch.no_grad()
def predict(model: nn.Module, pipeline: Compose, image_paths: List[str]):
    """Predict a batch of image files, without autograd.

    Args:
        model (nn.Module): A model built from the config, in eval mode.
        pipeline (Compose): :func:`build_test_pipeline` the config.
        image_paths (list[str]): Image files.

    Returns:
        list: One task data sample (DetDataSample, SegDataSample or
        DataSample) per image, in original-image coordinates.
    """
    batch = [pipeline(dict(img_path=path, img_id=i))
             for i, path in enumerate(image_paths)]
    return model.test_step(pseudo_collate(batch))


def upscale_prediction(image: np.ndarray, data_sample,
                       min_width: int) -> Tuple[np.ndarray, object]:
    """Enlarge an image and its prediction to at least ``min_width``
    pixels wide, so that the drawing is readable.

    The image is resized bicubically; boxes are scaled, instance masks and
    segmentation maps resized with nearest neighbours. Images at least
    ``min_width`` wide are returned unchanged.

    Args:
        image (np.ndarray): (H, W, 3).
        data_sample: A DetDataSample, SegDataSample or DataSample.
        min_width (int): Smallest width of the result.

    Returns:
        tuple: The image and a copy of the prediction at the new size.
    """
    height, width = image.shape[:2]
    if width >= min_width:
        return image, data_sample
    new_h, new_w = round(height * min_width / width), min_width
    image = mmcv.imresize(image, (new_w, new_h), interpolation='bicubic')
    sample = data_sample.clone()

    def nearest(maps: torch.Tensor) -> torch.Tensor:
        resized = F.interpolate(maps[None].float(), (new_h, new_w))[0]
        return resized.to(maps.dtype)

    # clone() is shallow: replace the nested elements, never modify them
    if 'pred_instances' in sample:
        instances = sample.pred_instances.clone()
        instances.bboxes = instances.bboxes * instances.bboxes.new_tensor(
            [new_w / width, new_h / height] * 2)
        if 'masks' in instances:
            instances.masks = nearest(instances.masks)
        sample.pred_instances = instances
    if 'pred_sem_seg' in sample:
        sample.pred_sem_seg = PixelData(
            metainfo=sample.pred_sem_seg.metainfo,
            data=nearest(sample.pred_sem_seg.data))
    return image, sample


def draw_prediction(cfg: Config, dataset_meta: dict, image_path: str,
                    data_sample, out_file: str,
                    score_thr: float = 0.3,
                    min_width: int = 0) -> None:
    """Draw one prediction on its image with the task's visualizer.

    Args:
        cfg (Config): The model's config (its ``visualizer`` is used).
        dataset_meta (dict): ``classes`` (and ``palette``).
        image_path (str): The image the prediction belongs to.
        data_sample: What :func:`predict` returned for it.
        out_file (str): PNG to write (atomically).
        score_thr (float): Boxes/masks below this score are not drawn
            (detection). Defaults to 0.3.
        min_width (int): Draw on the image enlarged to at least this width
            (:func:`upscale_prediction`); 0 keeps its size. Defaults to 0.
    """
    task = task_of(cfg)
    init_default_scope(task)
    vis_cfg = copy.deepcopy(cfg.visualizer)
    vis_cfg['name'] = f'mmunirep_demo_{task}'
    vis_cfg.pop('vis_backends', None)
    visualizer = VISUALIZERS.build(vis_cfg)
    visualizer.dataset_meta = dataset_meta
    image, data_sample = upscale_prediction(
        mmcv.imread(image_path, channel_order='rgb'), data_sample, min_width)
    if task == 'mmpretrain':
        visualizer.visualize_cls(image, data_sample,
                                 classes=dataset_meta.get('classes'),
                                 draw_gt=False)
    else:
        kwargs = dict(pred_score_thr=score_thr) if task == 'mmdet' else {}
        visualizer.add_datasample('prediction', image, data_sample,
                                  draw_gt=False, show=False, **kwargs)
    suffix = osp.splitext(out_file)[1] or '.png'
    encoded, data = cv2.imencode(suffix, visualizer.get_image()[..., ::-1])
    if not encoded:
        raise ValueError(f'cannot write a {suffix} image: {out_file}')
    with atomic_write(out_file) as f:
        f.write(data.tobytes())


def load_dataset_meta(model: nn.Module, cfg: Config) -> dict:
    """The model's ``dataset_meta`` (from its checkpoint) or the config's."""
    meta: Optional[dict] = getattr(model, 'dataset_meta', None)
    return meta if meta and meta.get('classes') else dataset_meta_of(cfg)
