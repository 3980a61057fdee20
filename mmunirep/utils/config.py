# Copyright (c) mmunirep contributors. All rights reserved.
"""Read OpenMMLab configs: overrides checked for typos, the task a config
belongs to."""
from typing import Optional

from mmengine.config import Config

from mmunirep.env_check import require_mmcv_ops
from .config_options import check_cfg_options

#: The default scopes (tasks) mmunirep's tools handle.
TASKS = ('mmdet', 'mmseg', 'mmpretrain')


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                strict_options: bool = False) -> Config:
    """Read a config and apply ``--cfg-options`` overrides.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Overrides, ``{'a.b': value}``.
        strict_options (bool): Refuse overrides that add a top-level or
            second-level key the config does not have (otherwise: a
            warning with the nearest keys). Defaults to False.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options, strict_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def task_of(cfg: Config) -> str:
    """'mmdet', 'mmseg' or 'mmpretrain': the default scope of a config.

    Raises:
        ValueError: Any other scope.
    """
    scope = cfg.get('default_scope')
    if scope not in TASKS:
        raise ValueError(
            f'config default_scope is {scope!r}; mmunirep tools handle '
            "'mmdet', 'mmseg' and 'mmpretrain' configs")
    return scope


def runnable_task_of(cfg: Config) -> str:
    """:func:`task_of`, after checking that the installed mmcv can run it
    (mmdet and mmseg need mmcv's compiled ops; mmpretrain does not).

    Raises:
        EnvironmentMismatchError: The task needs ops that do not load.
    """
    task = task_of(cfg)
    require_mmcv_ops(task)
    return task
