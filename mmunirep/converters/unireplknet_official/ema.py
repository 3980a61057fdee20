# Copyright (c) mmunirep contributors. All rights reserved.
"""The EMA buffers of mmdet 2.x files: which side holds the average.

mmdet 2.x's ``ExpMomentumEMAHook`` (and mmcv 1.x's ``EMAHook``) register one
buffer per entry of the model, named ``'ema_' + name.replace('.', '_')``,
and *swap* them with the model's values at the end of every epoch, before
the evaluation. The authors' configs give the hook priority 49, so it also
runs before the CheckpointHook (priority NORMAL, 50): their files hold the
averaged weights under the regular keys and the raw training weights in the
``ema_*`` buffers (mmdet's docstring: "the original model parameters are
actually saved in ema field"). Their ``test.py`` loaded the regular keys,
so those are what they evaluated. The converter finds out which side holds
the average -- from the BatchNorm ``num_batches_tracked`` counters (the
averaged copy of an integer counter is never updated, so it is the smaller
one), else from the hook's priority in the config text saved in
``meta['config']``, else by assuming the authors' setting -- and by default
writes the averaged weights; ``use_ema=False`` (``--no-ema``) writes the raw
ones.
"""
import ast
import re
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Tuple

from .formats import StateDict

#: mmcv 1.x hook priorities (mmcv/runner/priority.py).
PRIORITIES = {
    'HIGHEST': 0,
    'VERY_HIGH': 10,
    'HIGH': 30,
    'ABOVE_NORMAL': 40,
    'NORMAL': 50,
    'BELOW_NORMAL': 60,
    'LOW': 70,
    'VERY_LOW': 90,
    'LOWEST': 100
}
#: mmcv 1.x registers the CheckpointHook of an epoch-based runner at NORMAL,
#: before the custom hooks, so a custom hook runs first only below 50.
CHECKPOINT_HOOK_PRIORITY = 50


def ema_buffer_name(key: str) -> str:
    """The buffer mmdet 2.x / mmcv 1.x EMA hooks register for ``key``.

    Args:
        key (str): A model key, e.g. 'neck.fpn_convs.0.conv.weight'.

    Returns:
        str: e.g. 'ema_neck_fpn_convs_0_conv_weight'.
    """
    return 'ema_' + key.replace('.', '_')


def pair_ema_buffers(
        state_dict: StateDict) -> Tuple[Dict[str, str], List[str]]:
    """Map each regular key to its EMA buffer.

    Args:
        state_dict (dict[str, Tensor]): The weights with ``ema_*`` buffers.

    Returns:
        tuple[dict[str, str], list[str]]: ``({key: ema_key}, [ema keys
        without a regular key])``.
    """
    ema_keys = {k for k in state_dict if k.startswith('ema_')}
    pairs = {}
    for key in state_dict:
        if key not in ema_keys and ema_buffer_name(key) in ema_keys:
            pairs[key] = ema_buffer_name(key)
    orphans = sorted(ema_keys - set(pairs.values()))
    return pairs, orphans


def _literal(node: ast.AST):
    """The value of a constant or a bare name (``NORMAL``), else None."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return node.id
    return None


def _config_dicts(tree: ast.AST) -> Iterator[Dict[str, ast.AST]]:
    """Every ``dict(...)`` call and ``{...}`` literal of a config, as
    ``{key: value node}``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == 'dict':
            yield {kw.arg: kw.value for kw in node.keywords if kw.arg}
        elif isinstance(node, ast.Dict):
            yield {k.value: v for k, v in zip(node.keys, node.values)
                   if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def ema_hook_settings(
        config_text: Optional[str]) -> Optional[Tuple[str, int, bool]]:
    """The EMA hook of an mmcv 1.x config's text (``meta['config']``).

    The text (mmcv 1.x's ``Config.pretty_text``, Python) is parsed, not
    searched: each ``dict(...)`` / ``{...}`` whose ``type`` ends in
    'EMAHook' is the hook, its ``priority`` a name or a number, and a
    ``type='IterBasedRunner'`` anywhere makes the run iteration-based.

    Args:
        config_text (str, optional): The config text; anything but a str
            gives None.

    Returns:
        tuple[str, int, bool] | None: ``(hook type, priority, iter-based
        runner)``, or None when the text names no EMA hook or is not Python.
    """
    if not isinstance(config_text, str):
        return None
    try:
        tree = ast.parse(config_text)
    except SyntaxError:
        return None
    hook, iter_based = None, False
    for entries in _config_dicts(tree):
        kind = _literal(entries.get('type'))
        if not isinstance(kind, str):
            continue
        iter_based |= kind == 'IterBasedRunner'
        if hook is None and re.fullmatch(r'\w*E[Mm][Aa]Hook', kind):
            hook = (kind, _literal(entries['priority'])
                    if 'priority' in entries else 'NORMAL')
    if hook is None:
        return None
    name, value = hook
    if isinstance(value, int) and not isinstance(value, bool):
        priority = value
    else:
        priority = PRIORITIES.get(str(value).upper(),
                                  CHECKPOINT_HOOK_PRIORITY)
    return name, priority, iter_based


def locate_ema(state_dict: StateDict, pairs: Dict[str, str],
               config_text: Optional[str]) -> Tuple[bool, str]:
    """Whether the regular keys hold the averaged weights.

    mmdet 2.x / mmcv 1.x EMA hooks swap the model's values with their
    ``ema_*`` buffers at the end of every epoch (and back at the start of
    the next), so which side holds the average depends on whether the
    checkpoint was written after that swap.

    Args:
        state_dict (dict[str, Tensor]): The weights with ``ema_*`` buffers.
        pairs (dict[str, str]): ``{key: ema_key}`` of
            :func:`pair_ema_buffers`.
        config_text (str, optional): The config text of ``meta['config']``.

    Returns:
        tuple[bool, str]: ``(regular keys hold the average, the evidence)``.
    """
    votes = set()
    for key, ema_key in pairs.items():
        if key.endswith('num_batches_tracked'):
            regular, ema = int(state_dict[key]), int(state_dict[ema_key])
            if regular != ema:
                votes.add(regular < ema)
    if len(votes) == 1:
        swapped = votes.pop()
        return swapped, (
            'BatchNorm num_batches_tracked: the '
            f'{"regular keys" if swapped else "ema_* buffers"} hold the '
            'frozen counters of the averaged copy')
    hook = ema_hook_settings(config_text)
    if hook is not None:
        name, priority, iter_based = hook
        if iter_based:
            return False, (f'{name} with an IterBasedRunner in meta["config"]'
                           ' (the hook swaps at epoch ends only)')
        before = priority < CHECKPOINT_HOOK_PRIORITY
        return before, (
            f'{name} priority {priority} in meta["config"]: it runs '
            f'{"before" if before else "after"} the CheckpointHook '
            f'(priority {CHECKPOINT_HOOK_PRIORITY})')
    return True, ('assumed, as nothing in the file tells: mmdet 2.x EMA hooks '
                  'run before the CheckpointHook (the authors\' configs use '
                  'priority 49)')


def resolve_ema(state_dict: StateDict, meta: dict,
                use_ema: bool) -> Tuple[StateDict, dict, List[str]]:
    """Pick the averaged or raw weights and drop the ``ema_*`` buffers.

    Args:
        state_dict (dict[str, Tensor]): The weights, with or without
            ``ema_*`` buffers.
        meta (dict): The file's meta (its ``'config'`` text is evidence).
        use_ema (bool): Write the average (True) or the raw weights.

    Returns:
        tuple[dict, dict, list[str]]: ``(state dict, record for meta,
        notes)``.
    """
    pairs, orphans = pair_ema_buffers(state_dict)
    notes = []
    if orphans:
        notes.append(f'dropped {len(orphans)} ema_* keys that match no '
                     f'model key (first: {orphans[0]})')
    regular = OrderedDict(
        (k, v) for k, v in state_dict.items() if not k.startswith('ema_'))
    if not pairs:
        if not use_ema:
            notes.append('--no-ema: the file has no EMA buffers; its weights '
                         'are converted as saved')
        return regular, dict(ema_buffers=False, weights='as saved'), notes
    regular_is_ema, evidence = locate_ema(state_dict, pairs,
                                          meta.get('config'))
    from_buffers = use_ema != regular_is_ema
    if from_buffers:
        for key, ema_key in pairs.items():
            regular[key] = state_dict[ema_key]
    weights = 'ema' if use_ema else 'raw'
    source = 'the ema_* buffers' if from_buffers else 'the regular keys'
    notes.append(f'{len(pairs)} EMA buffers: the regular keys hold the '
                 f'{"averaged" if regular_is_ema else "raw"} weights '
                 f'({evidence}); writing the '
                 f'{"averaged" if use_ema else "raw"} weights, from {source}')
    record = dict(ema_buffers=True,
                  weights=weights,
                  taken_from='ema_buffers' if from_buffers else 'regular_keys',
                  evidence=evidence)
    return regular, record, notes
