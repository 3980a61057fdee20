# Copyright (c) mmunirep contributors. All rights reserved.
"""Check, at import time, that torch, mmcv and mmengine can run mmunirep.

The check names what is installed, what is needed and the command that fixes
it, instead of letting a wrong mmcv surface later as an obscure error deep in
mmdet or mmseg. An mmcv without compiled ops (``mmcv-lite``, or a GPU machine
where the ops are not built yet) is enough for the backbone and for
classification: importing mmunirep then only warns, and the detection and
segmentation entry points (:func:`require_mmcv_ops`) refuse with the fix.
"""
import importlib
import importlib.metadata
import importlib.util
import warnings
from typing import Dict, List, Optional, Tuple

from packaging.version import Version

#: Supported ranges, ``[minimum, maximum)``. mmdet 3.3 and mmseg 1.2 refuse
#: mmcv >= 2.2. torch 2.6: ``torch.serialization.add_safe_globals`` with
#: ``(object, name)`` pairs (resuming MMEngine checkpoints), besides
#: ``torch.is_autocast_enabled('cpu')`` (2.4) and
#: ``torch.compiler.is_compiling`` (2.3).
REQUIREMENTS = {
    'torch': ('2.6.0', None),
    'mmcv': ('2.0.0', '2.2.0'),
    'mmengine': ('0.8.0', '1.0.0'),
}

#: Tasks whose upstream packages import mmcv's compiled ops.
TASKS_NEEDING_OPS = ('mmdet', 'mmseg')

FIX_HINT = (
    'Fix: in the mmunirep repository run `bash tools/setup_env.sh`, which '
    'installs torch 2.14.1 and builds mmcv 2.1.0 with its ops (cached after '
    'the first build). By hand: `pip uninstall -y mmcv` then '
    '`MMCV_WITH_OPS=1 pip install --no-build-isolation "mmcv==2.1.0"` '
    '(with torch >= 2.14 the mmcv source needs -std=c++20; see '
    'docs/installation.md, "Installing by hand").')


#: pip names of modules whose distribution is named otherwise.
PIP_NAMES = {'cv2': 'opencv-python', 'yaml': 'pyyaml', 'PIL': 'pillow',
             'sklearn': 'scikit-learn'}


class MmcvOpsWarning(UserWarning):
    """mmcv has no usable compiled ops: fine for the backbone and
    classification, not for mmdet / mmseg."""


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


def find_problems(versions: dict,
                  import_errors: Optional[Dict[str, ImportError]] = None
                  ) -> List[str]:
    """List what is wrong with a set of installed versions.

    Args:
        versions (dict): Maps 'torch', 'mmcv' and 'mmengine' to the installed
            version string, or to None when the package is missing.
        import_errors (dict[str, ImportError], optional): The packages that
            are installed (their version is in ``versions``) but fail to
            import, with the error.

    Returns:
        list[str]: One human-readable line per problem; empty when all is well.
    """
    problems = []
    import_errors = import_errors or {}
    for name in ('torch', 'mmcv', 'mmengine'):
        version = versions.get(name)
        if name in import_errors:
            err = import_errors[name]
            problems.append(f'{name} {version} is installed, but importing '
                            f'it fails: {type(err).__name__}: {err}')
        elif version is None:
            problems.append(f'{name} is not installed; mmunirep needs '
                            f'{_range_text(name)}.')
        elif not _in_range(name, version):
            problems.append(f'{name} {version} is installed, but mmunirep '
                            f'needs {_range_text(name)}.')
    return problems


def _distribution_version(name: str) -> Optional[str]:
    """The version pip installed for package ``name`` (mmcv may come as
    ``mmcv-lite``), without importing it."""
    for distribution in (name, f'{name}-lite'):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _installed_version(name: str
                       ) -> Tuple[Optional[str], Optional[ImportError]]:
    """``(version, None)``, ``(None, None)`` if ``name`` is not installed,
    or ``(version, error)`` if it is installed but fails to import (e.g. a
    dependency of it is missing)."""
    if importlib.util.find_spec(name) is None:
        return None, None
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        return _distribution_version(name) or 'unknown', err
    return getattr(module, '__version__', '0'), None


def _missing_modules_hint(import_errors: Dict[str, ImportError]
                          ) -> Optional[str]:
    """``pip install ...`` for the modules the import errors name."""
    missing = sorted({
        err.name.split('.')[0] for err in import_errors.values()
        if isinstance(err, ModuleNotFoundError) and err.name
    })
    if not missing:
        return None
    names = ', '.join(repr(m) for m in missing)
    return (f'Fix: the module(s) {names} that they import are not installed: '
            f'`pip install {" ".join(PIP_NAMES.get(m, m) for m in missing)}`'
            ' (or run `bash tools/setup_env.sh` in the mmunirep repository).')


def mmcv_ops_error() -> Optional[str]:
    """Why mmcv's compiled ops cannot be used, or None when they load."""
    if importlib.util.find_spec('mmcv') is None:
        return 'mmcv is not installed'
    if importlib.util.find_spec('mmcv._ext') is None:
        return 'mmcv._ext is missing: this is an mmcv build without ops'
    try:
        importlib.import_module('mmcv._ext')
    except (ImportError, OSError) as err:
        return (f'mmcv._ext does not load, most likely built for another '
                f'torch: {err}')
    return None


def check_environment() -> None:
    """Raise :class:`EnvironmentMismatchError` if the stack cannot run us;
    warn (:class:`MmcvOpsWarning`) if mmcv has no usable compiled ops."""
    versions, import_errors = {}, {}
    for name in ('torch', 'mmcv', 'mmengine'):
        versions[name], error = _installed_version(name)
        if error is not None:
            import_errors[name] = error
    problems = find_problems(versions, import_errors)
    if problems:
        lines = '\n'.join(f'  - {problem}' for problem in problems)
        raise EnvironmentMismatchError(
            'mmunirep cannot run with the installed packages:\n'
            f'{lines}\n{_missing_modules_hint(import_errors) or FIX_HINT}')
    ops_error = mmcv_ops_error()
    if ops_error:
        warnings.warn(
            MmcvOpsWarning(
                f'mmcv {versions["mmcv"]} has no usable compiled ops '
                f'({ops_error}). The UniRepLKNet backbone and '
                'classification (mmpretrain) work without them; detection '
                '(mmdet) and segmentation (mmseg) need them. ' + FIX_HINT),
            stacklevel=2)


def require_mmcv_ops(task: str) -> None:
    """Refuse, with the fix, to run a task whose package needs mmcv's ops.

    Args:
        task (str): The config's default scope: 'mmdet', 'mmseg' or
            'mmpretrain' (which needs no ops).

    Raises:
        EnvironmentMismatchError: ``task`` needs the ops and they do not load.
    """
    if task not in TASKS_NEEDING_OPS:
        return
    ops_error = mmcv_ops_error()
    if ops_error:
        raise EnvironmentMismatchError(
            f'{task} needs mmcv\'s compiled ops (nms, roi_align, deformable '
            f'attention, ...), but {ops_error}. The backbone and '
            f'classification configs run without them. {FIX_HINT}')
