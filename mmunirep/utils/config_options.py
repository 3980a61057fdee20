# Copyright (c) mmunirep contributors. All rights reserved.
"""Catch misspelled ``--cfg-options`` keys.

``Config.merge_from_dict`` adds any key it is given, so a typo such as
``train_cfgg.max_iters=2`` silently creates a new key that nothing reads
and the run goes on with the old value. Here every option that would create
a new top-level or second-level key is reported with the nearest existing
keys.
"""
import difflib
import inspect
from typing import Iterator, List, Sequence

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

#: Top-level keys the Runner and the tools read even when a config does not
#: set them (``work_dir=...`` creates no stray key).
RUNNER_KEYS = tuple(
    name for name in inspect.signature(Runner.__init__).parameters
    if name != 'self') + ('runner_type', 'model_wrapper_cfg',
                          'find_unused_parameters', 'tta_model',
                          'tta_pipeline', 'custom_imports')


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` key that is not in the config
    (``--strict-options``)."""


def _key_paths(options: dict) -> Iterator[tuple]:
    """``(option, [first, second])`` key paths the options write to."""
    for option, value in options.items():
        parts = option.split('.')
        if len(parts) == 1 and isinstance(value, dict):
            for key in value:
                yield option, [parts[0], str(key)]
        else:
            yield option, parts[:2]


def _near(key: str, candidates: Sequence[str]) -> str:
    matches = difflib.get_close_matches(key, list(dict.fromkeys(candidates)),
                                        n=3, cutoff=0.6)
    if not matches:
        return ''
    names = [repr(m) for m in matches]
    listed = names[0] if len(names) == 1 else \
        ', '.join(names[:-1]) + ' or ' + names[-1]
    return f' (did you mean {listed}?)'


def unknown_option_keys(cfg: Config, options: dict) -> List[str]:
    """Describe each option that would add a top-level or second-level key.

    Args:
        cfg (Config): The config before the options are merged.
        options (dict): ``--cfg-options`` as ``DictAction`` parsed them.

    Returns:
        list[str]: One message per such option, with near matches.
    """
    problems = []
    for option, path in _key_paths(options):
        top = path[0]
        if top.startswith('_'):
            continue
        if top not in cfg:
            if top not in RUNNER_KEYS:
                problems.append(
                    f"--cfg-options {option}: the config has no key '{top}'"
                    f'{_near(top, list(cfg.keys()) + list(RUNNER_KEYS))}')
            continue
        if len(path) < 2 or path[1].startswith('_'):
            continue
        node, second = cfg[top], path[1]
        if isinstance(node, dict) and second not in node:
            problems.append(
                f"--cfg-options {option}: '{top}' has no key '{second}'"
                f'{_near(second, list(node))}')
        elif isinstance(node, (list, tuple)) and second.isdigit() \
                and int(second) >= len(node):
            problems.append(f"--cfg-options {option}: '{top}' has "
                            f'{len(node)} entries, no index {second}')
    return problems


def check_cfg_options(cfg: Config, options: dict,
                      strict: bool = False) -> None:
    """Warn about (``strict``: refuse) options that add keys; see
    :func:`unknown_option_keys`.

    Raises:
        ConfigOptionError: With ``strict``, listing every such option.
    """
    problems = unknown_option_keys(cfg, options)
    if not problems:
        return
    if strict:
        raise ConfigOptionError(
            '; '.join(problems) + '. --strict-options refuses keys that are '
            'not in the config: fix the spelling, or drop --strict-options '
            'to add them')
    for problem in problems:
        print_log(
            f'{problem}; it adds a new key, which nothing may read. '
            'Check the spelling (--strict-options makes this an error).',
            logger='current', level=30)
