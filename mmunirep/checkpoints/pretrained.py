# Copyright (c) mmunirep contributors. All rights reserved.
"""Load pretrained weights into a UniRepLKNet backbone, strictly but for
the documented differences.

The backbone's ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (and its
``pretrained=`` argument) end here, through the weight-initializer registry
(``mmunirep.PretrainedUniRepLKNet``).
"""
import os
import os.path as osp
from typing import Optional

from mmengine.logging import MMLogger

from mmunirep.models import Structure, UniRepLKNet, state_dict_structure
from mmunirep.models.backbones.pretrained_argument import (
    PRETRAINED_FROM_MODEL_HINT, check_loadable)
from mmunirep.registry import WEIGHT_INITIALIZERS
from mmunirep.utils.state_dict_fit import (CheckpointError,
                                           StateDictMismatchError,
                                           fit_state_dict)
from .catalogue import how_to_get
from .files import read_checkpoint, weights_of

#: Keys a backbone may lack in an ImageNet file: its output norms.
OUTPUT_NORMS = ('norm[0-9].*', )
#: Keys of an ImageNet file the backbone does not have: the classifier's.
CLASSIFIER = ('head.*', 'norm.*')


def _check_structure(backbone: UniRepLKNet, checkpoint: str,
                     state: dict) -> None:
    """Refuse a checkpoint of the other structure."""
    theirs = state_dict_structure(state)
    ours = Structure.of(backbone.deploy)
    if theirs is None or theirs == ours:
        return
    fix = ('Pretrained weights for training must be in the training '
           "structure (the authors' released files are); a re-parameterized "
           'file only serves inference, with model.backbone.deploy=True'
           ) if ours == Structure.TRAINING else (
               'Build the training structure (deploy=False) and '
               're-parameterize after loading (tools/reparameterize.py), or '
               'test it with tools/test.py, which re-parameterizes on the fly')
    raise CheckpointError(
        f'{checkpoint} holds UniRepLKNet in the {theirs} structure but this '
        f'backbone is built in the {ours} structure '
        f'(deploy={backbone.deploy}). {fix}.')


def load_pretrained(backbone: UniRepLKNet,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> None:
    """Load backbone weights from a checkpoint, strictly but for the
    documented differences.

    Only these keys may differ: the classifier's ``head.*`` and, in dense
    mode, its final ``norm.*`` may be in the checkpoint; the output norms
    ``norm0``..``norm3`` may be missing from it (the classifier has none).
    Anything else, a checkpoint of another arch or of the other structure
    (training vs. inference), is an error.

    Args:
        backbone (UniRepLKNet): Receives the weights.
        checkpoint (str): Path or URL.
        prefix (str, optional): Take only keys starting with it (e.g.
            'backbone.' in a detector checkpoint), with it stripped.
        map_location (str): Defaults to 'cpu'.

    Raises:
        FileNotFoundError: No such file (saying how to get a published one).
        CheckpointError: An unreadable file, or keys that do not fit.
    """
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'UniRepLKNet pretrained checkpoint {checkpoint!r} not found '
            f'(working directory {os.getcwd()}). {how_to_get(checkpoint)} '
            'Point init_cfg.checkpoint at the file (e.g. --cfg-options '
            'model.backbone.init_cfg.checkpoint=PATH), or train from '
            'scratch with model.backbone.init_cfg=None.')
    state = weights_of(read_checkpoint(checkpoint, map_location), checkpoint)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f'{checkpoint} has no keys starting with '
                                  f'{prefix!r}')
    _check_structure(backbone, checkpoint, state)
    fit = fit_state_dict(backbone, state, allowed_missing=OUTPUT_NORMS,
                         allowed_unexpected=CLASSIFIER)
    if not fit.shared:
        raise CheckpointError(
            f'{checkpoint} shares no key with UniRepLKNet; is it a '
            "detector/segmentor checkpoint that needs prefix='backbone.'?")
    if not fit.fits:
        raise StateDictMismatchError(
            checkpoint, f'this UniRepLKNet (depths {list(backbone.depths)}, '
            f'dims {list(backbone.dims)})', fit,
            'Pick the arch the checkpoint was trained with.'
            if fit.mismatched else
            'Only the classifier head (head.*, norm.*) and the output norms '
            '(norm0..norm3) may differ; use a UniRepLKNet checkpoint of this '
            "arch (with prefix='backbone.' for a detector or segmentor).")
    backbone.load_state_dict(state, strict=False)
    own = len(backbone.state_dict())
    left_out = fit.allowed_missing
    MMLogger.get_current_instance().info(
        f'UniRepLKNet: loaded {own - len(left_out)} of {own} tensors from '
        f"{checkpoint}{f' (prefix {prefix!r})' if prefix else ''}"
        f"{'; not in it (new output norms): ' if left_out else ''}"
        f"{', '.join(sorted({k.split('.')[0] for k in left_out}))}")


@WEIGHT_INITIALIZERS.register_module(name='PretrainedUniRepLKNet')
class PretrainedUniRepLKNetInit:
    """The weight initializer of a UniRepLKNet's ``type='Pretrained'``
    ``init_cfg``: :func:`load_pretrained`.

    Args:
        checkpoint (str): Path or URL.
        prefix (str, optional): See :func:`load_pretrained`.
        map_location (str): Defaults to 'cpu'.
        from_argument (bool): The checkpoint came as ``pretrained=`` (from
            mmseg's model-level ``pretrained``): errors then name that
            cause and its fix. Defaults to False.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 from_argument: bool = False) -> None:
        self.checkpoint, self.prefix = checkpoint, prefix
        self.map_location = map_location
        self.from_argument = from_argument

    def __call__(self, module: UniRepLKNet) -> None:
        if self.from_argument:
            check_loadable(self.checkpoint)
        try:
            load_pretrained(module, self.checkpoint, self.prefix,
                            self.map_location)
        except (FileNotFoundError, CheckpointError) as err:
            if self.from_argument:
                err.args = (f'{err} It reached UniRepLKNet as pretrained='
                            f'{self.checkpoint!r}: '
                            f'{PRETRAINED_FROM_MODEL_HINT}', )
            raise
