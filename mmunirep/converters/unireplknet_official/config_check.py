# Copyright (c) mmunirep contributors. All rights reserved.
"""Whether converted weights load with strict keys into a config's model."""
import os.path as osp
from typing import Optional

from mmunirep.checkpoints import build_model
from mmunirep.models import Structure, state_dict_structure
from mmunirep.utils import fit_state_dict, load_config, task_of
from .errors import ConversionError, ConvertedWeightsMismatchError
from .formats import CONFIG_NAMES, FORMATS, SCOPES, StateDict
from .source import find_arch


def check_against_config(state_dict: StateDict,
                         fmt: str,
                         config: str,
                         cfg_options: Optional[dict] = None,
                         strict_options: bool = False) -> None:
    """Load the converted weights strictly into ``config``'s model.

    Args:
        state_dict (dict[str, Tensor]): The converted weights.
        fmt (str): Their source format, a key of ``FORMATS``.
        config (str): The config whose model must take them.
        cfg_options (dict, optional): Overrides of ``config``.
        strict_options (bool): Refuse ``cfg_options`` keys that are not in
            ``config``. Defaults to False.

    Raises:
        ConversionError: ``config`` is of another task than ``fmt``.
        ConvertedWeightsMismatchError: Naming the first missing /
            unexpected key or shape mismatch, the checkpoint's and the
            config's arch and structure, and what to do.
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
