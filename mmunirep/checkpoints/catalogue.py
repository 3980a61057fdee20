# Copyright (c) mmunirep contributors. All rights reserved.
"""The checkpoints the UniRepLKNet authors published, in one table.

The authors host their ImageNet files in the Hugging Face repository
``DingXiaoH/UniRepLKNet``; their model file lists them (its
``huggingface_file_names`` table) and their README marks two of those names
as lost: the ImageNet-22K pretrained S and the 22K -> 1K 384 XL. Every config
that starts from released weights names one of :data:`PUBLISHED` by its URL,
so MMEngine downloads and caches it (``<torch hub dir>/checkpoints``);
``tools/download_checkpoints.py`` fills that cache ahead of time for nodes
without internet.

This module is pure data: it imports nothing heavy.
"""
import os
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

#: Where the files live, as ``<endpoint>/<repo>/resolve/main/<name>``.
HF_REPO = 'DingXiaoH/UniRepLKNet'
#: The Hub; ``HF_ENDPOINT`` (the Hugging Face convention) names a mirror.
DEFAULT_ENDPOINT = 'https://huggingface.co'

#: ``kind`` values: what the file is.
KINDS = {
    'in1k_224': 'ImageNet-1K classifier, 224x224',
    'in22k_pretrain': 'ImageNet-22K pretrained (21841-class head)',
    'in22k_to_in1k_384': 'ImageNet-22K pretrained, fine-tuned on 1K at 384',
}


@dataclass(frozen=True)
class PublishedCheckpoint:
    """One released file.

    Attributes:
        name (str): File name in the Hugging Face repository.
        arch (str): The UniRepLKNet arch its weights fit ('a' ... 'xl').
        kind (str): One of :data:`KINDS`.
        configs (tuple[str]): Configs (paths under ``configs/`` without
            ``.py``) whose backbone starts from this file.
        evaluated_by (str, optional): The classification config that
            reproduces this file (it evaluates it after conversion by
            ``tools/model_converters/unireplknet_to_mmunirep.py``).
    """
    name: str
    arch: str
    kind: str
    configs: Tuple[str, ...] = ()
    evaluated_by: Optional[str] = None

    @property
    def url(self) -> str:
        """The URL configs name: always the Hub, whatever the mirror."""
        return checkpoint_url(self.name, DEFAULT_ENDPOINT)


def _entry(name, arch, kind, configs=(), evaluated_by=None):
    return name, PublishedCheckpoint(name, arch, kind, tuple(configs),
                                     evaluated_by)


#: Every file the authors published, by name.
PUBLISHED: Dict[str, PublishedCheckpoint] = dict([
    _entry('unireplknet_a_in1k_224_acc77.03.pth', 'a', 'in1k_224',
           evaluated_by='unireplknet_a_in1k'),
    _entry('unireplknet_f_in1k_224_acc78.58.pth', 'f', 'in1k_224',
           evaluated_by='unireplknet_f_in1k'),
    _entry('unireplknet_p_in1k_224_acc80.23.pth', 'p', 'in1k_224',
           evaluated_by='unireplknet_p_in1k'),
    _entry('unireplknet_n_in1k_224_acc81.64.pth', 'n', 'in1k_224',
           evaluated_by='unireplknet_n_in1k'),
    _entry('unireplknet_t_in1k_224_acc83.21.pth', 't', 'in1k_224', [
        'upernet_unireplknet_t_ade20k', 'cascade_mask_rcnn_unireplknet_t_coco'
    ], 'unireplknet_t_in1k'),
    _entry('unireplknet_s_in1k_224_acc83.91.pth', 's', 'in1k_224', [
        'upernet_unireplknet_s_ade20k', 'cascade_mask_rcnn_unireplknet_s_coco'
    ], 'unireplknet_s_in1k'),
    # also the start of the S IN-22K detector: its IN-22K pretrain is lost
    _entry('unireplknet_s_in22k_to_in1k_384_acc86.44.pth', 's',
           'in22k_to_in1k_384', [
               'upernet_unireplknet_s_in22k_ade20k',
               'upernet_unireplknet_s_in22k_640_ade20k',
               'cascade_mask_rcnn_unireplknet_s_in22k_coco'
           ], 'unireplknet_s_in22k_to_in1k_384'),
    _entry('unireplknet_b_in22k_pretrain.pth', 'b', 'in22k_pretrain', [
        'cascade_mask_rcnn_unireplknet_b_coco',
        'unireplknet_b_in22k_to_in1k_384'
    ]),
    _entry('unireplknet_b_in22k_to_in1k_384_acc87.40.pth', 'b',
           'in22k_to_in1k_384', ['upernet_unireplknet_b_ade20k'],
           'unireplknet_b_in22k_to_in1k_384'),
    _entry('unireplknet_l_in22k_pretrain.pth', 'l', 'in22k_pretrain', [
        'cascade_mask_rcnn_unireplknet_l_coco',
        'unireplknet_l_in22k_to_in1k_384'
    ]),
    _entry('unireplknet_l_in22k_to_in1k_384_acc87.88.pth', 'l',
           'in22k_to_in1k_384', ['upernet_unireplknet_l_ade20k'],
           'unireplknet_l_in22k_to_in1k_384'),
    # also the start of the XL segmentor: its 22K -> 1K file is lost
    _entry('unireplknet_xl_in22k_pretrain.pth', 'xl', 'in22k_pretrain', [
        'upernet_unireplknet_xl_ade20k',
        'cascade_mask_rcnn_unireplknet_xl_coco',
        'unireplknet_xl_in22k_to_in1k_384'
    ]),
])

#: Names in the authors' table whose files were lost, and what we use.
LOST: Dict[str, str] = {
    'unireplknet_s_in22k_pretrain.pth':
    'lost by the authors (their README: "lost, reproducing"). The S IN-22K '
    'detector and segmentors start from '
    'unireplknet_s_in22k_to_in1k_384_acc86.44.pth instead; '
    'configs/unireplknet_s_in22k_to_in1k_384.py (the fine-tuning recipe) '
    'needs your own IN-22K S weights',
    'unireplknet_xl_in22k_to_in1k_384_acc87.96.pth':
    'lost by the authors (their README: "lost, reproducing"). The XL '
    'segmentor starts from unireplknet_xl_in22k_pretrain.pth instead',
}


def hf_endpoint() -> str:
    """The Hugging Face endpoint: ``$HF_ENDPOINT`` or the Hub."""
    return (os.environ.get('HF_ENDPOINT') or DEFAULT_ENDPOINT).rstrip('/')


def checkpoint_url(name: str, endpoint: Optional[str] = None) -> str:
    """``<endpoint>/DingXiaoH/UniRepLKNet/resolve/main/<name>``.

    Args:
        name (str): A file name of :data:`PUBLISHED`.
        endpoint (str, optional): Defaults to :func:`hf_endpoint`.
    """
    endpoint = (endpoint or hf_endpoint()).rstrip('/')
    return f'{endpoint}/{HF_REPO}/resolve/main/{name}'


def published_checkpoint(name_or_url: str) -> PublishedCheckpoint:
    """Look a file up by its name or by any URL ending in its name.

    Raises:
        ValueError: For a lost file (saying so and what replaces it) or a
            name the authors never published (listing the known ones).
    """
    name = name_or_url.rstrip('/').rsplit('/', 1)[-1]
    if name in PUBLISHED:
        return PUBLISHED[name]
    if name in LOST:
        raise ValueError(f'{name} was {LOST[name]}')
    known = '\n  '.join(PUBLISHED)
    raise ValueError(f'{name!r} is not a published UniRepLKNet checkpoint; '
                     f'the authors published:\n  {known}')


def how_to_get(path: str) -> str:
    """A sentence saying where the file ``path`` names can be had: its URL
    for a published name, what replaces it for a lost one, the list of
    published files otherwise."""
    name = os.path.basename(path)
    if name in PUBLISHED:
        return (f'{name} is published: name its URL {checkpoint_url(name)} '
                'instead (MMEngine downloads and caches it), or fetch it with '
                f'`python tools/download_checkpoints.py {name} --dest DIR`.')
    if name in LOST:
        return f'{name} was {LOST[name]}.'
    return ('The published files are at '
            f'{DEFAULT_ENDPOINT}/{HF_REPO} (`python '
            'tools/download_checkpoints.py --list` lists them and the '
            'configs that use them).')
