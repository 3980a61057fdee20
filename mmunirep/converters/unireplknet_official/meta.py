# Copyright (c) mmunirep contributors. All rights reserved.
"""mmcv 1.x meta -> mmengine meta, with a record of the conversion."""
import os.path as osp

from mmunirep.utils import plain_value
from mmunirep.version import __version__
from .formats import FORMATS

#: The entries of the source's meta kept in the record, as plain values.
SOURCE_META_KEYS = ('mmdet_version', 'mmseg_version', 'mmcv_version', 'epoch',
                    'iter', 'exp_name', 'time', 'seed')


def convert_meta(meta: dict, src: str, fmt: str, ema: dict) -> dict:
    """mmcv 1.x meta -> mmengine meta, with a record of the conversion.

    ``CLASSES`` / ``PALETTE`` become ``dataset_meta``; the record
    (``converted_from``) names the source file, its format, the EMA choice,
    the source's meta entries of :data:`SOURCE_META_KEYS` and its config
    text.

    Args:
        meta (dict): The source's meta.
        src (str): The source file.
        fmt (str): Its format, a key of ``FORMATS``.
        ema (dict): The EMA record of
            :func:`~mmunirep.converters.unireplknet_official.ema.resolve_ema`.

    Returns:
        dict: The new meta, of types weights-only loading accepts.
    """
    new_meta = {}
    dataset_meta = {}
    if meta.get('CLASSES') is not None:
        dataset_meta['classes'] = tuple(str(c) for c in meta['CLASSES'])
    if meta.get('PALETTE') is not None:
        try:
            dataset_meta['palette'] = [
                tuple(int(v) for v in color) for color in meta['PALETTE']
            ]
        except (TypeError, ValueError):
            pass
    if dataset_meta:
        new_meta['dataset_meta'] = dataset_meta
    source_meta = {
        k: plain_value(meta[k])
        for k in SOURCE_META_KEYS if meta.get(k) is not None
    }
    record = dict(source=osp.basename(src),
                  format=fmt,
                  description=FORMATS[fmt],
                  ema=ema,
                  source_meta=source_meta,
                  tool='tools/model_converters/unireplknet_to_mmunirep.py',
                  mmunirep_version=__version__)
    if isinstance(meta.get('config'), str):
        record['source_config'] = meta['config']
    new_meta['converted_from'] = record
    return new_meta
