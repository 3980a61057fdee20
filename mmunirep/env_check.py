# Copyright (c) mmunirep contributors. All rights reserved.
"""Check, at import time, that torch, mmcv and mmengine can run mmunirep.

The check names what is installed, what is needed and the command that fixes
it, instead of letting a wrong mmcv surface later as an obscure error deep in
mmdet or mmseg.
"""
import importlib
import importlib.util
from typing import List, Optional

from packaging.version import Version

#: Supported ranges, ``[minimum, maximum)``. mmdet 3.3 and mmseg 1.2 refuse
#: mmcv >= 2.2; ``torch.utils.checkpoint``'s ``context_fn`` needs torch 2.1.
REQUIREMENTS = {
    'torch': ('2.1.0', None),
    'mmcv': ('2.0.0', '2.2.0'),
    'mmengine': ('0.8.0', '1.0.0'),
}

FIX_HINT = (
    'Fix: in the mmunirep repository run `bash tools/setup_env.sh`, which '
    'installs torch 2.14.1 and builds mmcv 2.1.0 with its ops (cached after '
    'the first build). By hand: `pip uninstall -y mmcv` then '
    '`MMCV_WITH_OPS=1 pip install --no-build-isolation "mmcv==2.1.0"` '
    '(with torch >= 2.14 the mmcv source needs -std=c++20; see README, '
    '"Installing by hand").')


class EnvironmentMismatchError(RuntimeError):
    """Raised when the installed stack cannot run mmunirep.

    A RuntimeError, not an ImportError, on purpose: MMEngine swallows
    ImportErrors while importing `<scope>.registry`, which would hide this
    message behind a "not in the registry" KeyError.
    """


def _range_text(name: str) -> str:
    low, high = REQUIREMENTS[name]
    return f'{name}>={low}' + (f',<{high}' if high else '')


def _in_range(name: str, version: str) -> bool:
    low, high = REQUIREMENTS[name]
    parsed = Version(version.split('+')[0])
    return parsed >= Version(low) and (high is None or parsed < Version(high))


def find_problems(versions: dict, mmcv_ops_error: Optional[str]) -> List[str]:
    """List what is wrong with a set of installed versions.

    Args:
        versions (dict): Maps 'torch', 'mmcv' and 'mmengine' to the installed
            version string, or to None when the package is missing.
        mmcv_ops_error (str, optional): Why mmcv's compiled ops could not be
            loaded, or None when they load.

    Returns:
        list[str]: One human-readable line per problem; empty when all is well.
    """
    problems = []
    for name in ('torch', 'mmcv', 'mmengine'):
        version = versions.get(name)
        if version is None:
            problems.append(f'{name} is not installed; mmunirep needs '
                            f'{_range_text(name)}.')
        elif not _in_range(name, version):
            problems.append(f'{name} {version} is installed, but mmunirep '
                            f'needs {_range_text(name)}.')
    if versions.get('mmcv') is not None and mmcv_ops_error:
        problems.append(f'mmcv {versions["mmcv"]} has no usable compiled ops '
                        f'({mmcv_ops_error}); mmdet and mmseg need them '
                        '(nms, roi_align, ...).')
    return problems


def _installed_version(name: str) -> Optional[str]:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return getattr(module, '__version__', '0')


def _mmcv_ops_error() -> Optional[str]:
    if importlib.util.find_spec('mmcv') is None:
        return None
    if importlib.util.find_spec('mmcv._ext') is None:
        return 'mmcv._ext is missing: this is an mmcv build without ops'
    try:
        importlib.import_module('mmcv._ext')
    except (ImportError, OSError) as err:
        return (f'mmcv._ext does not load, most likely built for another '
                f'torch: {err}')
    return None


def check_environment() -> None:
    """Raise :class:`EnvironmentMismatchError` if the stack cannot run us."""
    versions = {
        name: _installed_version(name)
        for name in ('torch', 'mmcv', 'mmengine')
    }
    ops_error = _mmcv_ops_error() if versions['torch'] else None
    problems = find_problems(versions, ops_error)
    if problems:
        lines = '\n'.join(f'  - {problem}' for problem in problems)
        raise EnvironmentMismatchError(
            'mmunirep cannot run with the installed packages:\n'
            f'{lines}\n{FIX_HINT}')
