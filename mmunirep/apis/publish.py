# Copyright (c) mmunirep contributors. All rights reserved.
"""Turn a training checkpoint into a file fit to publish.

A published checkpoint holds ``state_dict`` (the EMA weights where the run
kept an average) and a ``meta`` of plain Python types only, so it loads with
``torch.load(weights_only=True)`` in any environment, with no allow-list and
without importing mmunirep. Optimizer, scheduler and message-hub state are
dropped. The file name ends with the first 8 hex digits of its sha256, as
OpenMMLab's ``publish_model.py`` tools name their files.
"""
import hashlib
import io
import os.path as osp
from typing import Dict, Optional, Tuple

import torch
from mmengine.logging import MMLogger

from mmunirep.checkpoints import read_checkpoint
from mmunirep.utils import atomic_write_bytes, check_output_path, plain_value
from .deploy_conversion import inference_weights, reparameterized_model

#: Runner state that has no use outside training.
TRAINING_ONLY_KEYS = ('optimizer', 'param_schedulers', 'message_hub',
                      'ema_state_dict', 'hook_msgs')


def published_name(out_file: str, sha256: str) -> str:
    """``name.pth`` -> ``name-<first 8 hex digits>.pth``."""
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    return f'{stem}-{sha256[:8]}.pth'


def publish_checkpoint(in_file: str,
                       out_file: str,
                       deploy_config: Optional[str] = None,
                       cfg_options: Optional[dict] = None,
                       raw_weights: bool = False,
                       strict_options: bool = False) -> Tuple[str, Dict]:
    """Write the published form of ``in_file``.

    Args:
        in_file (str): A checkpoint written by the Runner (or any
            ``{'state_dict': ..., 'meta': ...}`` file).
        out_file (str): Requested name; the sha256 prefix is appended.
        deploy_config (str, optional): The training config of the
            checkpoint; when given, the weights are re-parameterized and the
            result loads into ``configs/deploy/<same name>.py``.
        cfg_options (dict, optional): Overrides for ``deploy_config``.
        raw_weights (bool): Publish the raw weights of a checkpoint written
            with EMA instead of the average. Defaults to False.
        strict_options (bool): Refuse ``cfg_options`` keys that
            ``deploy_config`` lacks. Defaults to False.

    Returns:
        tuple[str, dict]: The final path and the written ``meta``.
    """
    check_output_path(out_file, [in_file])
    checkpoint = read_checkpoint(in_file)
    state, source = inference_weights(checkpoint, raw_weights)
    if deploy_config is not None:
        state = reparameterized_model(deploy_config, state, in_file,
                                      cfg_options, strict_options).state_dict()
    meta = plain_value(checkpoint.get('meta', {}))
    dropped = [k for k in TRAINING_ONLY_KEYS if k in checkpoint]
    meta['published'] = dict(source=osp.basename(in_file), weights=source,
                             reparameterized=deploy_config is not None,
                             dropped=dropped)
    buffer = io.BytesIO()
    torch.save({'meta': meta,
                'state_dict': {k: v.detach().contiguous()
                               for k, v in state.items()}}, buffer)
    data = buffer.getvalue()
    final = published_name(out_file, hashlib.sha256(data).hexdigest())
    check_output_path(final, [in_file])
    atomic_write_bytes(data, final)
    MMLogger.get_current_instance().info(
        f'published {in_file} ({source}) -> {final}; dropped '
        f"{', '.join(dropped) or 'nothing'}")
    return final, meta
