# Copyright (c) mmunirep contributors. All rights reserved.
"""Convert the UniRepLKNet authors' released checkpoints to mmunirep.

The logic of ``tools/model_converters/unireplknet_to_mmunirep.py`` (a thin
command-line wrapper around :func:`convert`).

The authors (AILab-CVC/UniRepLKNet, Hugging Face DingXiaoH/UniRepLKNet)
released three kinds of files; each becomes an OpenMMLab 2.0 checkpoint
``{'meta': ..., 'state_dict': ...}`` that loads with strict keys into our
configs, so ``tools/test.py CONFIG CONVERTED.pth`` evaluates it:

``imagenet``
    Their timm-style classifier (``downsample_layers.*``, ``stages.*``,
    ``norm.*``, ``head.*``), a plain state dict or one wrapped in ``'model'``
    (their training script) or ``'state_dict'``. Becomes the mmpretrain
    ``ImageClassifier`` of ``configs/unireplknet_*_in1k.py`` and
    ``configs/unireplknet_*_in22k_to_in1k_384.py``: ``backbone.<key>``, and
    ``head.*`` -> ``head.fc.*`` (``LinearClsHead.fc``). Their ``norm`` is our
    classification-mode backbone's final LayerNorm ``backbone.norm``.
``mmdet2``
    Their COCO Cascade Mask R-CNN files (mmdet 2.28.1, mmcv-full 1.x).
    Becomes ``configs/cascade_mask_rcnn_unireplknet_*_coco.py``. No key of
    CascadeRCNN / FPN / RPNHead / ConvFCBBoxHead / FCNMaskHead changed
    between mmdet 2.28 and 3.3 (``neck.lateral_convs|fpn_convs.<i>.conv``,
    ``rpn_head.rpn_conv|rpn_cls|rpn_reg``, ``roi_head.bbox_head.<s>.
    shared_convs.<i>.conv|bn``, ``...shared_fcs.0``, ``...fc_cls|fc_reg``,
    ``roi_head.mask_head.<s>.convs.<i>.conv``, ``...upsample``,
    ``...conv_logits``); what has no place in the 3.x model is dropped: the
    EMA buffers and the optimizer state.
``mmseg0``
    Their ADE20K UperNet files (mmseg 0.27). Becomes
    ``configs/upernet_unireplknet_*_ade20k.py``. No key of EncoderDecoder /
    UPerHead / FCNHead changed between mmseg 0.27 and 1.2
    (``decode_head.conv_seg``, ``...psp_modules.<j>.1.conv|bn``,
    ``...bottleneck``, ``...lateral_convs``, ``...fpn_convs``,
    ``...fpn_bottleneck``, ``auxiliary_head.convs.0``,
    ``auxiliary_head.conv_seg``).

Structure: the authors' files come in the training structure, or
re-parameterized by their own code (deploy files), whose large-kernel blocks
keep their merged kernel under ``dwconv.lk_origin``; ours is ``dwconv``, so
those keys are renamed and the result loads into our ``configs/deploy/``
twins.

EMA (mmdet 2.x files): mmdet 2.x's ``ExpMomentumEMAHook`` (and mmcv 1.x's
``EMAHook``) register one buffer per entry of the model, named
``'ema_' + name.replace('.', '_')``, and *swap* them with the model's values
at the end of every epoch, before the evaluation. The authors' configs give
the hook priority 49, so it also runs before the CheckpointHook (priority
NORMAL, 50): their files hold the averaged weights under the regular keys
and the raw training weights in the ``ema_*`` buffers (mmdet's docstring:
"the original model parameters are actually saved in ema field"). Their
``test.py`` loaded the regular keys, so those are what they evaluated. This
tool finds out which side holds the average -- from the BatchNorm
``num_batches_tracked`` counters (the averaged copy of an integer counter is
never updated, so it is the smaller one), else from the hook's priority in
the config text saved in ``meta['config']``, else by assuming the authors'
setting -- and by default writes the averaged weights; ``use_ema=False``
(``--no-ema``) writes the raw ones.

Loading: the file is first checked (an empty, truncated or non-PyTorch
file is named as such), then read with ``torch.load(weights_only=True)``
(with the safe globals mmunirep registers for numpy values in old meta). A
file that holds other Python objects (e.g. ``argparse.Namespace`` in a
training-script checkpoint) is refused unless ``trust`` (``--trust``) is
given, which unpickles it fully -- only do that for files from a source you
trust, such as the authors' Hugging Face repository.
"""
import ast
import os.path as osp
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch

from mmunirep.checkpoints import (build_model, check_checkpoint_file,
                                  unpickling_refusal)
from mmunirep.models import Structure, state_dict_structure
from mmunirep.utils import (CheckpointError, OutputPathError,
                            StateDictMismatchError, atomic_torch_save,
                            check_output_path, fit_state_dict, load_config,
                            task_of)
from mmunirep.version import __version__

FORMATS = {
    'imagenet': 'ImageNet classifier (timm-style state dict)',
    'mmdet2': 'mmdet 2.x Cascade Mask R-CNN',
    'mmseg0': 'mmseg 0.x UperNet',
}
#: The top-level modules of the authors' dense-prediction models.
MODULES = {
    'mmdet2': ('backbone', 'neck', 'rpn_head', 'roi_head'),
    'mmseg0': ('backbone', 'decode_head', 'auxiliary_head'),
}
#: The downstream scope (config ``default_scope``) each format converts to.
SCOPES = {'imagenet': 'mmpretrain', 'mmdet2': 'mmdet', 'mmseg0': 'mmseg'}
#: Our configs for each format.
CONFIG_NAMES = {
    'imagenet': ('configs/unireplknet_{arch}_in1k.py',
                 'configs/unireplknet_{arch}_in22k_to_in1k_384.py'),
    'mmdet2': ('configs/cascade_mask_rcnn_unireplknet_{arch}_coco.py',
               'configs/cascade_mask_rcnn_unireplknet_{arch}_in22k_coco.py'),
    'mmseg0': ('configs/upernet_unireplknet_{arch}_ade20k.py',
               'configs/upernet_unireplknet_{arch}_in22k_ade20k.py',
               'configs/upernet_unireplknet_{arch}_in22k_640_ade20k.py'),
}
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
SOURCE_META_KEYS = ('mmdet_version', 'mmseg_version', 'mmcv_version', 'epoch',
                    'iter', 'exp_name', 'time', 'seed')

StateDict = Dict[str, torch.Tensor]


class ConversionError(Exception):
    """An input this tool cannot convert; the message says what to do."""


class ConvertedWeightsMismatchError(StateDictMismatchError, ConversionError):
    """The converted weights do not fit the model of the config given."""


@dataclass
class ConversionResult:
    """What :func:`convert` did, for the command line to report.

    Attributes:
        fmt (str): The source format ('imagenet', 'mmdet2', 'mmseg0').
        detected (bool): Whether the format was told from the keys.
        arch (str): The backbone, e.g. 'UniRepLKNet-T (depths ..., dims
            ...)'.
        num_tensors (int): Tensors written.
        meta (dict): The written checkpoint's ``meta``.
        checked_config (str, optional): The config the result was loaded
            into with strict keys.
        notes (list[str]): What was changed or left out, and why.
        warnings (list[str]): What needs the user's attention.
    """
    fmt: str
    detected: bool
    arch: str
    num_tensors: int
    meta: dict
    checked_config: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


# ----------------------------------------------------------------- loading
def load_source(path: str, trust: bool = False) -> Tuple[object, List[str]]:
    """``torch.load`` a file, weights-only unless ``trust`` is set.

    Args:
        path (str): The checkpoint.
        trust (bool): Unpickle the file fully when weights-only loading
            refuses it. Defaults to False.

    Returns:
        tuple: ``(what the file holds, warnings)``.
    """
    try:
        check_checkpoint_file(path)
    except (FileNotFoundError, CheckpointError) as err:
        raise ConversionError(str(err)) from err
    try:
        return torch.load(path, map_location='cpu', weights_only=True), []
    except pickle.UnpicklingError as err:
        if 'weights_only' not in str(err) and 'Weights only' not in str(err):
            raise ConversionError(
                f'{path} is not a PyTorch checkpoint ({err})') from err
        if not trust:
            raise ConversionError(
                f'{path} holds Python objects that safe (weights-only) '
                f'loading refuses ({unpickling_refusal(err)}). If the file '
                'comes from a source you trust (e.g. the authors\' Hugging '
                'Face repository DingXiaoH/UniRepLKNet), rerun with --trust '
                'to unpickle it fully; unpickling can run arbitrary code.'
            ) from err
    except Exception as err:  # a corrupt archive fails in many ways
        raise ConversionError(f'cannot read {path} as a PyTorch checkpoint '
                              f'({type(err).__name__}: {err})') from err
    warning = (f'trusting {path}: unpickling it fully (--trust); only do '
               'this for files from a source you trust')
    try:
        return torch.load(path, map_location='cpu',
                          weights_only=False), [warning]
    except (ImportError, AttributeError) as err:
        raise ConversionError(
            f'{path} refers to Python code that is not installed here '
            f'({err}); re-save its state dict where it was written') from err


def split_checkpoint(obj: object) -> Tuple[StateDict, dict, List[str]]:
    """The state dict and meta of a loaded checkpoint.

    Returns:
        tuple: ``(state_dict, meta, notes)``; notes describe what else the
        file held and was left out.
    """
    if not isinstance(obj, dict):
        raise ConversionError(
            f'the file holds a {type(obj).__name__}, not a checkpoint dict')
    notes = []
    meta = obj.get('meta') if isinstance(obj.get('meta'), dict) else {}
    if 'ema_state_dict' in obj or 'mmengine_version' in meta \
            or 'converted_from' in meta \
            or 'dataset_meta' in meta:
        raise ConversionError(
            'this is already an OpenMMLab 2.0 (mmengine) checkpoint; it '
            'loads into our configs as it is, no conversion needed')
    if isinstance(obj.get('state_dict'), dict):
        state_dict = obj['state_dict']
        wrapper = 'state_dict'
    elif isinstance(obj.get('model'), dict):
        state_dict = obj['model']
        wrapper = 'model'
    else:
        state_dict, wrapper = obj, None
    if wrapper == 'model' and not meta:  # the authors' training script
        meta = {k: obj[k] for k in ('epoch', ) if k in obj}
    if wrapper is not None:
        left = sorted(k for k in obj if k not in (wrapper, 'meta', *meta))
        if 'model_ema' in left:
            notes.append("the file also holds 'model_ema' (timm ModelEma of "
                         "the training script); it is not converted, the "
                         f"'{wrapper}' weights are")
        if left:
            notes.append(f'dropped from the file: {", ".join(left)}')
    not_tensors = [
        k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)
    ]
    if not state_dict or not_tensors:
        raise ConversionError('the file is not a state dict of tensors' +
                              (f' (e.g. {not_tensors[0]!r} is a '
                               f'{type(state_dict[not_tensors[0]]).__name__})'
                               if not_tensors else ' (it is empty)'))
    if all(k.startswith('module.') for k in state_dict):
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
        notes.append("removed the 'module.' prefix of a wrapped model")
    return dict(state_dict), meta, notes


# --------------------------------------------------------------- detection
def is_unireplknet(state_dict: StateDict, prefix: str = '') -> bool:
    """Whether the keys under ``prefix`` are a UniRepLKNet's."""
    return f'{prefix}downsample_layers.0.0.weight' in state_dict and any(
        k.startswith(f'{prefix}stages.') for k in state_dict)


def detect_type(state_dict: StateDict) -> str:
    """'imagenet', 'mmdet2' or 'mmseg0' from the keys of a state dict."""
    tops = {k.split('.', 1)[0] for k in state_dict if not k.startswith('ema_')}
    if 'backbone' in tops:
        if 'head' in tops and any(
                k.startswith('head.fc.') for k in state_dict):
            raise ConversionError(
                'the keys are already in the mmpretrain layout '
                '(backbone.*, head.fc.*); no conversion needed')
        if 'decode_head' in tops:
            return 'mmseg0'
        if tops & {'rpn_head', 'roi_head'}:
            return 'mmdet2'
    elif {'downsample_layers', 'stages'} <= tops:
        return 'imagenet'
    raise ConversionError(
        'cannot tell what kind of UniRepLKNet checkpoint this is: expected '
        'the ImageNet classifier (downsample_layers.*, stages.*, head.*), '
        'an mmdet 2.x detector (backbone.*, neck.*, rpn_head.*, roi_head.*) '
        'or an mmseg 0.x segmentor (backbone.*, decode_head.*); found '
        f'top-level names {sorted(tops)[:8]}. If it is one of these, pass '
        '--type; otherwise it is not a file this tool converts.')


def find_arch(state_dict: StateDict,
              prefix: str = '') -> Tuple[Optional[str], str]:
    """The backbone's arch from the keys.

    Returns:
        tuple: ``(arch name such as 't', or None when it is no standard
        arch; a description such as 'UniRepLKNet-T (depths [3, 3, 18, 3],
        dims [80, 160, 320, 640])')``.
    """
    from mmunirep.models import UniRepLKNet
    try:
        dims = [state_dict[f'{prefix}downsample_layers.0.3.weight'].shape[0]]
        dims += [
            state_dict[f'{prefix}downsample_layers.{i}.0.weight'].shape[0]
            for i in (1, 2, 3)
        ]
    except KeyError:
        return None, 'an unknown backbone'
    depths = [0] * 4
    for key in state_dict:
        m = re.match(rf'{re.escape(prefix)}stages\.(\d)\.(\d+)\.', key)
        if m and int(m.group(1)) < 4:
            i, b = int(m.group(1)), int(m.group(2))
            depths[i] = max(depths[i], b + 1)
    name = next((n for n, s in UniRepLKNet.arch_settings.items()
                 if s['depths'] == depths and s['dims'] == dims), None)
    arch = f'UniRepLKNet-{name.upper()}' if name else 'a UniRepLKNet'
    return name, f'{arch} (depths {depths}, dims {dims})'


# --------------------------------------------------------------------- EMA
def ema_buffer_name(key: str) -> str:
    """The buffer mmdet 2.x / mmcv 1.x EMA hooks register for ``key``."""
    return 'ema_' + key.replace('.', '_')


def pair_ema_buffers(
        state_dict: StateDict) -> Tuple[Dict[str, str], List[str]]:
    """Map each regular key to its EMA buffer.

    Returns:
        tuple: ``({key: ema_key}, [ema keys without a regular key])``.
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


def _config_dicts(tree: ast.AST):
    """Every ``dict(...)`` call and ``{...}`` literal of a config, as
    ``{key: value node}``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == 'dict':
            yield {kw.arg: kw.value for kw in node.keywords if kw.arg}
        elif isinstance(node, ast.Dict):
            yield {k.value: v for k, v in zip(node.keys, node.values)
                   if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def ema_hook_settings(config_text: str) -> Optional[Tuple[str, int, bool]]:
    """The EMA hook of an mmcv 1.x config's text (``meta['config']``).

    The text (mmcv 1.x's ``Config.pretty_text``, Python) is parsed, not
    searched: each ``dict(...)`` / ``{...}`` whose ``type`` ends in
    'EMAHook' is the hook, its ``priority`` a name or a number, and a
    ``type='IterBasedRunner'`` anywhere makes the run iteration-based.

    Returns:
        tuple | None: ``(hook type, priority, iter-based runner)``, or None
        when the text names no EMA hook or is not Python.
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

    Returns:
        tuple: ``(regular keys hold the average, the evidence)``.
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

    Returns:
        tuple: ``(state dict, record for meta, notes)``.
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


# -------------------------------------------------------------- converters
def adopt_deploy_layout(state_dict: StateDict,
                        prefix: str = '') -> Tuple[StateDict, int]:
    """Rename the authors' deploy keys to ours.

    Their re-parameterized large-kernel blocks keep the merged kernel as
    ``dwconv.lk_origin.weight|bias``; ours is ``dwconv.weight|bias``. Only
    inference-structure files are touched (in the training structure,
    ``dwconv.lk_origin`` is the large kernel's own conv).

    Returns:
        tuple: ``(state dict, number of renamed keys)``.
    """
    if state_dict_structure(state_dict, prefix) != Structure.DEPLOY:
        return state_dict, 0
    pattern = re.compile(
        rf'^({re.escape(prefix)}stages\.\d+\.\d+\.dwconv)\.lk_origin\.')
    renamed = OrderedDict(
        (pattern.sub(r'\1.', k), v) for k, v in state_dict.items())
    return renamed, sum(1 for k in state_dict if pattern.match(k))


def convert_imagenet(state_dict: StateDict) -> StateDict:
    """The authors' classifier -> mmpretrain ImageClassifier keys."""
    if not is_unireplknet(state_dict):
        raise ConversionError('not a UniRepLKNet ImageNet checkpoint: no '
                              'downsample_layers.0.0.weight / stages.* keys')
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('head.'):
            converted['head.fc.' + key[len('head.'):]] = value
        else:
            converted['backbone.' + key] = value
    return converted


def convert_dense(state_dict: StateDict,
                  fmt: str) -> Tuple[StateDict, List[str]]:
    """mmdet 2.x / mmseg 0.x keys -> mmdet 3.x / mmseg 1.x keys.

    The names are the same in both generations (see the module docstring),
    so this keeps the model's modules and drops anything else.

    Returns:
        tuple: ``(state dict, warnings)``.
    """
    if not is_unireplknet(state_dict, 'backbone.'):
        raise ConversionError(
            f'not a UniRepLKNet {FORMATS[fmt]} checkpoint: no '
            'backbone.downsample_layers.0.0.weight / backbone.stages.* keys')
    modules = MODULES[fmt]
    kept = OrderedDict(
        (k, v) for k, v in state_dict.items() if k.split('.', 1)[0] in modules)
    dropped = sorted({k.split('.', 1)[0] for k in state_dict} - set(modules))
    warnings = [f'dropped keys outside the {FORMATS[fmt]} modules '
                f'({", ".join(modules)}): top-level names {dropped}'
                ] if dropped else []
    absent = [
        m for m in modules if not any(k.startswith(m + '.') for k in kept)
    ]
    if absent and absent != ['auxiliary_head']:
        raise ConversionError(
            f'no {", ".join(m + ".*" for m in absent)} keys: not an '
            f'{FORMATS[fmt]} checkpoint (try --type auto)')
    return kept, warnings


def _plain(value):
    """A number or string of built-in type (weights-only loadable)."""
    if hasattr(value, 'item') and callable(value.item):  # numpy / 0-d tensor
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            pass
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def convert_meta(meta: dict, src: str, fmt: str, ema: dict) -> dict:
    """mmcv 1.x meta -> mmengine meta, with a record of the conversion."""
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
        k: _plain(meta[k])
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


# -------------------------------------------------------------- validation
def check_against_config(state_dict: StateDict,
                         fmt: str,
                         config: str,
                         cfg_options: Optional[dict] = None,
                         strict_options: bool = False) -> None:
    """Load the converted weights strictly into ``config``'s model.

    Raises:
        ConversionError: Naming the first missing / unexpected key or shape
            mismatch, the checkpoint's and the config's arch and structure,
            and what to do.
    """
    cfg = load_config(config, cfg_options, strict_options)
    scope = task_of(cfg)
    if scope != SCOPES[fmt]:
        raise ConversionError(
            f'{config} is an {scope} config but the checkpoint is an '
            f'{FORMATS[fmt]} ({SCOPES[fmt]}); pick a config of that task')
    model = build_model(cfg)
    fit = fit_state_dict(model, state_dict)
    if not fit.fits:
        backbone = cfg.model.get('backbone', {})
        arch, description = find_arch(state_dict, 'backbone.')
        structure = state_dict_structure(state_dict, 'backbone.') or \
            Structure.TRAINING
        names = [n.format(arch=arch or '<arch>') for n in CONFIG_NAMES[fmt]]
        if structure == Structure.DEPLOY:
            names = [n.replace('configs/', 'configs/deploy/') for n in names]
        example = ' or '.join([n for n in names if osp.isfile(n)] or names[:1])
        builds = Structure.of(bool(backbone.get('deploy')))
        raise ConvertedWeightsMismatchError(
            'the converted weights', f'the model of {config}', fit,
            f'The checkpoint is {description} in the {structure} structure, '
            f'the config builds arch={backbone.get("arch")!r} in the {builds} '
            'structure. Use the config of the same size, task and structure '
            f'({example}), or adjust it with --cfg-options.')
    model.load_state_dict(state_dict, strict=True)


# -------------------------------------------------------------- conversion
def convert(src: str,
            dst: str,
            fmt: str = 'auto',
            use_ema: bool = True,
            config: Optional[str] = None,
            cfg_options: Optional[dict] = None,
            trust: bool = False,
            strict_options: bool = False) -> ConversionResult:
    """Convert ``src`` to ``dst``; see the module docstring.

    Args:
        src (str): The authors' checkpoint.
        dst (str): Where to write ours (atomically; never onto ``src``).
        fmt (str): 'auto' (tell from the keys), 'imagenet', 'mmdet2' or
            'mmseg0'. Defaults to 'auto'.
        use_ema (bool): mmdet 2.x files with EMA buffers: write the average
            (True) or the raw training weights. Defaults to True.
        config (str, optional): Check that the result loads with strict keys
            into this config's model before writing.
        cfg_options (dict, optional): Overrides of ``config``.
        trust (bool): Unpickle ``src`` fully if weights-only loading refuses
            it. Defaults to False.
        strict_options (bool): Refuse ``cfg_options`` keys that are not in
            ``config``. Defaults to False.

    Returns:
        ConversionResult: What was written, with notes and warnings.

    Raises:
        ConversionError: Anything that stops the conversion; ``dst`` is not
            written then.
    """
    try:
        check_output_path(dst, [src], 'DST')
    except OutputPathError as err:
        raise ConversionError(str(err)) from err
    obj, warnings = load_source(src, trust)
    state_dict, meta, notes = split_checkpoint(obj)
    detected = detect_type(state_dict) if fmt == 'auto' else fmt
    ema_record = dict(ema_buffers=False, weights='as saved')
    if detected == 'imagenet':
        state_dict, renamed = adopt_deploy_layout(state_dict)
        converted = convert_imagenet(state_dict)
        if not use_ema:
            notes.append('--no-ema has no effect on ImageNet checkpoints')
    else:
        state_dict, ema_record, ema_notes = resolve_ema(
            state_dict, meta, use_ema)
        notes += ema_notes
        state_dict, renamed = adopt_deploy_layout(state_dict, 'backbone.')
        converted, dense_warnings = convert_dense(state_dict, detected)
        warnings += dense_warnings
    if renamed:
        notes.append(f"the authors' {Structure.DEPLOY} layout: renamed "
                     f'{renamed} dwconv.lk_origin.* keys to dwconv.* (load it '
                     'with a configs/deploy/ config)')
    if config is not None:
        check_against_config(converted, detected, config, cfg_options,
                             strict_options)
    new_meta = convert_meta(meta, src, detected, ema_record)
    atomic_torch_save({'meta': new_meta, 'state_dict': converted}, dst)
    return ConversionResult(
        fmt=detected, detected=fmt == 'auto',
        arch=find_arch(converted, 'backbone.')[1],
        num_tensors=len(converted), meta=new_meta, checked_config=config,
        notes=notes, warnings=warnings)
