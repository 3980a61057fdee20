# Copyright (c) mmunirep contributors. All rights reserved.
"""Training curves from MMEngine's json logs.

MMEngine's ``LoggerHook`` writes one json line per logged training interval
and per validation to ``WORK_DIR/<timestamp>/vis_data/scalars.json``.
Training lines carry the global iteration in ``iter`` and ``step``;
validation lines carry the metrics and a ``step`` that is the iteration,
or the epoch for epoch-based runs (``log_metric_by_epoch``, mmdet's
default). Everything here is plotted against the iteration; a validation
after epoch e sits at the last logged training iteration of epoch e.
"""
import glob
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

SCALARS_PATTERN = osp.join('*', 'vis_data', 'scalars.json')


@dataclass
class Curve:
    """One scalar of one run against the iteration.

    Attributes:
        iters (list[int]): x values.
        values (list[float]): y values.
        validation (bool): Whether the scalar comes from validation.
    """
    iters: List[int] = field(default_factory=list)
    values: List[float] = field(default_factory=list)
    validation: bool = False


def scalar_files(path: str) -> List[str]:
    """The ``scalars.json`` files of a work dir, oldest run first, or
    ``path`` itself if it is a file.

    Raises:
        FileNotFoundError: There is none.
    """
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, SCALARS_PATTERN)))
    if not files:
        raise FileNotFoundError(
            f'no MMEngine json log under {path}: expected '
            f'{osp.join(path, SCALARS_PATTERN)}, written by LoggerHook '
            'while training (or pass a scalars.json file)')
    return files


def read_records(path: str) -> Tuple[List[dict], List[dict]]:
    """Training and validation records of a work dir (all its runs) or of
    one ``scalars.json``.

    Runs are read oldest first; where a later run (a resumed one) logs the
    same step again, its record replaces the earlier one.

    Returns:
        tuple[list[dict], list[dict]]: Training and validation records,
        each sorted by ``step``.
    """
    train, val = {}, {}
    for file in scalar_files(path):
        with open(file) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f'{file}:{number} is not json: '
                                     f'{error}') from None
                if 'step' not in record:
                    continue
                # only training records carry the global iteration
                target = train if 'iter' in record else val
                target[record['step']] = record
    return ([train[s] for s in sorted(train)], [val[s] for s in sorted(val)])


def _validation_iters(train: List[dict],
                      val: List[dict]) -> List[Optional[int]]:
    """The iteration of each validation record (see the module doc); None
    where an epoch has no logged training iteration."""
    epochs = [r['epoch'] for r in train if 'epoch' in r]
    if not epochs or any(r['step'] > max(epochs) for r in val):
        return [r['step'] for r in val]
    last_iter = {}
    for record in train:
        last_iter[record['epoch']] = max(
            last_iter.get(record['epoch'], 0), record['iter'])
    return [last_iter.get(r['step']) for r in val]


def load_curves(path: str, keys: Sequence[str]) -> Dict[str, Curve]:
    """Curves of the given scalars in a work dir (or ``scalars.json``).

    Args:
        path (str): A work dir or a ``scalars.json`` file.
        keys (Sequence[str]): Scalar names, e.g. ``loss``, ``mIoU``,
            ``coco/bbox_mAP``.

    Returns:
        dict[str, Curve]: key -> curve, for the keys the log has. A key that
        training logs (``loss``, ``lr``, ...) comes from the training lines,
        any other from the validation lines.

    Raises:
        KeyError: None of ``keys`` is in the log; the message lists the
            keys there are.
    """
    train, val = read_records(path)
    val_iters = _validation_iters(train, val)
    curves = {}
    for key in keys:
        curve = Curve()
        for record in train:
            if key in record:
                curve.iters.append(record['iter'])
                curve.values.append(float(record[key]))
        if not curve.iters:
            curve.validation = True
            for it, record in zip(val_iters, val):
                if key in record and it is not None:
                    curve.iters.append(it)
                    curve.values.append(float(record[key]))
        if curve.iters:
            curves[key] = curve
    if not curves:
        available = sorted({k for r in train + val for k in r} -
                           {'step', 'iter', 'epoch'})
        raise KeyError(f'{path} logs none of {list(keys)}; it logs: '
                       f"{', '.join(available)}")
    return curves


def plot_curves(runs: Dict[str, Dict[str, Curve]],
                keys: Sequence[str],
                out_file: str,
                title: str = '',
                width_inches: float = 8.0,
                dpi: int = 100) -> None:
    """Draw one panel per key, one line per run, and save a PNG.

    Args:
        runs (dict[str, dict[str, Curve]]): Run label -> :func:`load_curves`.
        keys (Sequence[str]): Keys to draw, top to bottom; a key no run
            logs is left out.
        out_file (str): The PNG to write (atomically).
        title (str): Figure title. Defaults to ''.
        width_inches (float): Figure width; the PNG is ``width_inches *
            dpi`` pixels wide (800 by default). Defaults to 8.
        dpi (int): Pixels per inch. Defaults to 100.
    """
    from matplotlib.figure import Figure

    from mmunirep.utils import atomic_write
    keys = [k for k in keys if any(k in curves for curves in runs.values())]
    figure = Figure(figsize=(width_inches, 0.5 + 2.6 * len(keys)),
                    layout='constrained')
    axes = figure.subplots(len(keys), 1, squeeze=False, sharex=True)[:, 0]
    for axis, key in zip(axes, keys):
        for label, curves in runs.items():
            if key not in curves:
                continue
            curve = curves[key]
            # markers for validation points and for a lone training point
            sparse = curve.validation or len(curve.iters) == 1
            axis.plot(curve.iters, curve.values,
                      marker='o' if sparse else None, markersize=4,
                      label=label)
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        if len(runs) > 1:
            axis.legend(fontsize=8)
    axes[-1].set_xlabel('iteration')
    if title:
        figure.suptitle(title)
    with atomic_write(out_file) as f:
        figure.savefig(f, format='png', dpi=dpi)
