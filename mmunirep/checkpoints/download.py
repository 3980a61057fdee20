# Copyright (c) mmunirep contributors. All rights reserved.
"""Fetch and verify the authors' published checkpoints.

:func:`download_checkpoint` writes a file of
:data:`mmunirep.checkpoints.PUBLISHED` into the directory MMEngine's URL
loading reads (``<torch hub dir>/checkpoints``, i.e. ``$TORCH_HOME/hub/
checkpoints``), so a config naming the file's URL then loads it offline. It
downloads to a temporary name in the destination, checks that the file
loads with ``torch.load(weights_only=True)`` and fits the UniRepLKNet arch
the table gives, and only then renames it: a truncated or foreign file never
sits at the final name.
"""
import http.client
import os
import os.path as osp
import tempfile
import urllib.error
import urllib.request
from typing import Callable, List, Mapping, Optional

import torch

from mmunirep.models import UniRepLKNet
from mmunirep.utils.config_nodes import iter_config_nodes
from mmunirep.utils.state_dict_fit import (CheckpointError,
                                           StateDictMismatchError,
                                           fit_state_dict)
from .catalogue import (LOST, PublishedCheckpoint, checkpoint_url,
                        published_checkpoint)

#: ``progress(bytes_done, bytes_total_or_None)``, called as data arrives.
ProgressCallback = Callable[[int, Optional[int]], None]

_CHUNK = 1 << 20


def default_checkpoint_dir() -> str:
    """The cache MMEngine reads for ``http(s)`` checkpoints.

    ``<torch.hub.get_dir()>/checkpoints``: ``$TORCH_HOME/hub/checkpoints``,
    by default ``~/.cache/torch/hub/checkpoints``.
    """
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def pretrained_checkpoints(cfg: Mapping) -> List[str]:
    """Every ``checkpoint`` of a ``type='Pretrained'`` init_cfg in a config.

    Args:
        cfg (Mapping): A config (or any part of one); searched recursively.

    Returns:
        list[str]: The checkpoints (paths or URLs), in config order.
    """
    return [node['checkpoint'] for _, node in iter_config_nodes(cfg)
            if node.get('type') == 'Pretrained' and node.get('checkpoint')]


def published_checkpoints_of(cfg: Mapping, source: str = 'the config'
                             ) -> List[PublishedCheckpoint]:
    """The published files a config's model starts from.

    Args:
        cfg (Mapping): A config, or its ``model``.
        source (str): How to name the config in errors.

    Returns:
        list[PublishedCheckpoint]: In config order, without repeats.

    Raises:
        ValueError: The config starts from no checkpoint, from a local file
            (saying whether the authors lost it), or from a URL that is not
            a published file.
    """
    checkpoints = pretrained_checkpoints(cfg)
    if not checkpoints:
        raise ValueError(f'{source} starts from no checkpoint (it trains '
                         'from scratch)')
    entries = []
    for checkpoint in checkpoints:
        if '://' not in checkpoint:
            name = osp.basename(checkpoint)
            why = f'{name} was {LOST[name]}' if name in LOST else \
                'that is not a published file'
            raise ValueError(f'{source} starts from the local file '
                             f'{checkpoint}; {why}')
        entry = published_checkpoint(checkpoint)
        if entry not in entries:
            entries.append(entry)
    return entries


def _reference_state(arch: str) -> Mapping[str, torch.Tensor]:
    """State dict (on the meta device) of the authors' classifier backbone."""
    with torch.device('meta'):
        model = UniRepLKNet(
            arch=arch, out_indices=(3, ), gap_before_final_norm=True)
    return model.state_dict()


def verify_checkpoint(path: str, arch: str) -> int:
    """Check that a file holds UniRepLKNet weights of ``arch``.

    The file must load with ``torch.load(weights_only=True)`` (a plain state
    dict, or one wrapped in ``model`` / ``state_dict``) and hold every
    backbone tensor of ``arch`` (the authors' classifier layout:
    ``downsample_layers.*``, ``stages.*``, ``norm.*``) with its shape; the
    only other keys allowed are the classifier's ``head.*``.

    Args:
        path (str): The file.
        arch (str): 'a' ... 'xl'.

    Returns:
        int: The number of backbone tensors checked.

    Raises:
        CheckpointError: Saying what is wrong.
    """
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # truncated, garbage, or not weights-only
        reason = str(err).strip().splitlines()[0] if str(err) else ''
        raise CheckpointError(
            f'{path} is not a loadable PyTorch checkpoint '
            f'({type(err).__name__}: {reason}); the download is truncated '
            'or the server sent something else') from err
    if isinstance(state, Mapping):
        for key in ('model', 'state_dict'):
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path} does not hold a state dict of tensors')
    reference = _reference_state(arch)
    # BatchNorm counters are not weights; files saved without them still fit
    fit = fit_state_dict(reference, state,
                         allowed_missing=('*.num_batches_tracked', ),
                         allowed_unexpected=('head.*', ))
    if not fit.fits:
        raise StateDictMismatchError(path, f'UniRepLKNet-{arch.upper()}',
                                     fit)
    return len(reference)


def _fetch(url: str, out, timeout: float,
           progress: Optional[ProgressCallback]) -> None:
    request = urllib.request.Request(
        url, headers={'User-Agent': 'mmunirep-download'})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise CheckpointError(
            f'{url}: the server answered {err.code} {err.reason}') from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, 'reason', err)
        raise CheckpointError(
            f'cannot reach {url} ({reason}). Set HF_ENDPOINT to a mirror, '
            'or download on a machine with internet and copy the files '
            'into the destination') from err
    with response:
        length = response.headers.get('Content-Length')
        total = int(length) if length and length.isdigit() else None
        done = 0
        if progress:
            progress(done, total)
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as err:
                raise CheckpointError(
                    f'{url}: the connection broke after {done} bytes '
                    f'({err})') from err
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if total is not None and done != total:
        raise CheckpointError(f'{url}: got {done} of {total} bytes; the '
                              'download is truncated')


def download_checkpoint(name: str,
                        dest_dir: Optional[str] = None,
                        endpoint: Optional[str] = None,
                        progress: Optional[ProgressCallback] = None,
                        timeout: float = 60.) -> str:
    """Download one published file, verify it, and move it into place.

    A file already at the final name is verified and kept (nothing is
    downloaded); one that fails the check is left untouched and reported,
    since this function did not make it.

    Args:
        name (str): A file name of :data:`mmunirep.checkpoints.PUBLISHED`
            (or a URL ending in one).
        dest_dir (str, optional): Defaults to :func:`default_checkpoint_dir`.
        endpoint (str, optional): Defaults to ``$HF_ENDPOINT`` or the Hub.
        progress (callable, optional): See :data:`ProgressCallback`.
        timeout (float): Seconds to wait for the server. Defaults to 60.

    Returns:
        str: The path of the verified file.

    Raises:
        ValueError: ``name`` is lost or was never published.
        CheckpointError: Fetching or verification failed; nothing was left
            at the final name.
    """
    entry: PublishedCheckpoint = published_checkpoint(name)
    dest_dir = dest_dir or default_checkpoint_dir()
    os.makedirs(dest_dir, exist_ok=True)
    final = osp.join(dest_dir, entry.name)
    if osp.exists(final):
        try:
            verify_checkpoint(final, entry.arch)
        except CheckpointError as err:
            raise CheckpointError(
                f'{final} already exists and is not a valid copy ({err}); '
                'it was left as it is: delete it and run again') from err
        return final
    url = checkpoint_url(entry.name, endpoint)
    fd, partial = tempfile.mkstemp(
        prefix=f'.{entry.name}.', suffix='.part', dir=dest_dir)
    try:
        with os.fdopen(fd, 'wb') as out:
            _fetch(url, out, timeout, progress)
        verify_checkpoint(partial, entry.arch)
        os.replace(partial, final)
    except BaseException:
        if osp.exists(partial):
            os.remove(partial)
        raise
    return final
