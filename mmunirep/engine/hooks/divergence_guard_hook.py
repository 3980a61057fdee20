# Copyright (c) mmunirep contributors. All rights reserved.
"""Stop a training run whose loss or weights have become non-finite."""
import math
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from torch.nn.utils import get_total_norm

from mmunirep.engine.training_stop import (EXIT_DIVERGED, resume_command,
                                           stop_training)
from mmunirep.registry import HOOKS

#: A value no iteration reaches ("no bad iteration" in the all-reduce).
_NO_ITERATION = 2**62


class _Step(NamedTuple):
    """What one training iteration left for the next check.

    ``losses`` stay on the device they were computed on, so recording a step
    never waits for the device.
    """
    iteration: int  # iterations done, 1-based
    lr: float  # the largest lr of the parameter groups
    grad_norm: Optional[float]  # when the optimizer wrapper clips
    names: Sequence[str]
    losses: List[torch.Tensor]  # 0-d, detached


class _Divergence(NamedTuple):
    """The first iteration of a run of bad ones, as one process saw it."""
    iteration: int
    lr: float
    bad_terms: Dict[str, float]  # name -> non-finite value, in model order
    grad_norm: Optional[float]
    bad_iters: int  # iterations in the run


def _non_finite_tensors(state: dict) -> List[str]:
    """Names of the floating-point tensors of ``state`` that hold a NaN or
    an infinity.

    One fused max-abs reduction over all of them (one device
    synchronisation); only if it is not finite are they looked at one by
    one.
    """
    tensors = {name: value.detach() for name, value in state.items()
               if torch.is_tensor(value) and value.is_floating_point()}
    if not tensors or torch.isfinite(
            get_total_norm(list(tensors.values()), float('inf'))):
        return []
    return [name for name, value in tensors.items()
            if not torch.isfinite(value).all()]


@HOOKS.register_module()
class DivergenceGuardHook(Hook):
    """Stop training when the loss, the gradient norm or the weights become
    NaN or infinite, before a checkpoint of the broken model is written.

    Every iteration the loss terms of the model's outputs (the keys holding
    ``'loss'``, which MMEngine sums into the training loss) are kept as
    device tensors, and the gradient norm is read where the optimizer
    wrapper computes it (``clip_grad``; MMEngine logs it as
    ``train/grad_norm``). Nothing waits for the device then: the kept values
    are read with one synchronisation every ``interval`` iterations, at the
    last iteration, at every iteration that the checkpoint hook saves, after
    every training epoch and before every validation. In distributed runs
    the processes agree on the result (one small all-reduce per check), so
    all of them stop at the same iteration.

    On a non-finite value the run stops (exit status
    :data:`~mmunirep.engine.training_stop.EXIT_DIVERGED`, no traceback),
    logging the iteration, the first non-finite loss term, the lr, the last
    good checkpoint and what to try. Before every checkpoint save the
    weights being saved are checked as well, so no checkpoint of non-finite
    weights is written between checks, and a model is never validated (so
    never recorded as "best") after its loss or weights went non-finite.

    A non-finite gradient norm under an AMP loss scaler
    (``AmpOptimWrapper``) is a step the scaler skipped, which is normal; it
    does not count.

    Args:
        interval (int): Iterations between checks. Defaults to 50.
        max_bad_iters (int): Consecutive iterations with a non-finite loss
            (or gradient norm, without AMP) that are tolerated; the next one
            stops the run. Defaults to 0: the first stops it. Raise it only
            where such steps are skipped (AMP skips a step whose fp16
            forward pass overflowed); otherwise the optimizer applies
            non-finite gradients and the weights are lost.
        enable (bool): False turns the guard off (MMEngine's runner does not
            accept None for a hook of ours in ``default_hooks``). Defaults
            to True.

    Example:
        >>> default_hooks = dict(divergence_guard=dict(
        ...     type='mmunirep.DivergenceGuardHook', interval=50))
    """

    priority = 'ABOVE_NORMAL'  # before EMAHook, LoggerHook, CheckpointHook

    def __init__(self,
                 interval: int = 50,
                 max_bad_iters: int = 0,
                 enable: bool = True) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'DivergenceGuardHook interval must be a '
                             f'positive int, got {interval!r}')
        if not isinstance(max_bad_iters, int) or max_bad_iters < 0:
            raise ValueError(f'DivergenceGuardHook max_bad_iters must be an '
                             f'int >= 0, got {max_bad_iters!r}')
        self.interval = interval
        self.max_bad_iters = max_bad_iters
        self.enable = enable
        self._steps: List[_Step] = []
        self._run: Optional[_Divergence] = None  # the current bad run

    # ------------------------------------------------------------ recording
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Keep this iteration's losses; check when one is due."""
        if not self.enable:
            return
        losses = {name: value.detach() for name, value in (outputs or
                                                           {}).items()
                  if 'loss' in name and torch.is_tensor(value)}
        if losses:
            self._steps.append(
                _Step(runner.iter + 1, self._largest_lr(runner),
                      self._grad_norm(runner), list(losses),
                      list(losses.values())))
        saving = self._checkpoint_due(runner)
        if saving or self.every_n_train_iters(runner, self.interval) or \
                self.is_last_train_iter(runner):
            self._check(runner, runner.model if saving else None)

    def after_train_epoch(self, runner) -> None:
        """Check before the checkpoint hook saves at the end of an epoch."""
        if self.enable:
            self._check(runner, runner.model)

    def before_val(self, runner) -> None:
        """Check before validating: a broken model is never evaluated, so it
        is never recorded as the best one."""
        if self.enable:
            self._check(runner, runner.model)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write non-finite weights (on the saving process only,
        so without all-reduce; the checks above normally stop every process
        before it gets here)."""
        if not self.enable:
            return
        divergence = self._find_divergence(runner)
        broken = _non_finite_tensors(checkpoint.get('state_dict', {}))
        if divergence is not None or broken:
            self._stop(runner, divergence, broken)

    # ------------------------------------------------------------ checking
    def _check(self, runner, model: Optional[torch.nn.Module]) -> None:
        """Read the kept values (and the weights of ``model``), agree across
        processes, and stop the run if any process found a problem."""
        divergence = self._find_divergence(runner)
        broken = [] if model is None else _non_finite_tensors(
            dict(getattr(model, 'module', model).named_parameters()))
        if get_world_size() > 1:
            found = torch.tensor([
                -(divergence.iteration if divergence else _NO_ITERATION),
                len(broken)
            ])
            all_reduce(found, op='max')
            if found.tolist() == [-_NO_ITERATION, 0]:
                return
            reports = all_gather_object((divergence, broken))
            found_runs = [d for d, _ in reports if d is not None]
            divergence = min(found_runs, key=lambda d: d.iteration) \
                if found_runs else None
            broken = next((b for _, b in reports if b), [])
        if divergence is not None or broken:
            self._stop(runner, divergence, broken)

    def _find_divergence(self, runner) -> Optional[_Divergence]:
        """Read the kept steps (one synchronisation) and return the run of
        bad iterations that exceeds ``max_bad_iters``, if any."""
        steps, self._steps = self._steps, []
        if not steps:
            return None
        values = torch.stack([loss.float() for step in steps
                              for loss in step.losses]).cpu().tolist()
        amp = hasattr(runner.optim_wrapper, 'loss_scaler')
        first = 0
        for step in steps:
            step_values = values[first:first + len(step.losses)]
            first += len(step.losses)
            bad_terms = {name: value for name, value in
                         zip(step.names, step_values)
                         if not math.isfinite(value)}
            bad_norm = step.grad_norm is not None and not amp and \
                not math.isfinite(step.grad_norm)
            if not (bad_terms or bad_norm):
                self._run = None
                continue
            if self._run is None:
                self._run = _Divergence(step.iteration, step.lr, bad_terms,
                                        step.grad_norm, 0)
            self._run = self._run._replace(bad_iters=self._run.bad_iters + 1)
            if self._run.bad_iters > self.max_bad_iters:
                return self._run
        return None

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _largest_lr(runner) -> float:
        return max(lr for lrs in runner.optim_wrapper.get_lr().values()
                   for lr in lrs)

    @staticmethod
    def _grad_norm(runner) -> Optional[float]:
        buffer = runner.message_hub.log_scalars.get('train/grad_norm')
        return None if buffer is None else float(buffer.current())

    @staticmethod
    def _checkpoint_due(runner) -> bool:
        """Whether an iteration-based checkpoint hook saves after this
        iteration."""
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and not hook.by_epoch and (
                    hook.every_n_train_iters(runner, hook.interval,
                                             hook.save_begin) or
                    (hook.save_last and hook.is_last_train_iter(runner))):
                return True
        return False

    def _stop(self, runner, divergence: Optional[_Divergence],
              broken: List[str]) -> None:
        stop_training(EXIT_DIVERGED,
                      self._message(runner, divergence, broken),
                      runner.logger)

    def _message(self, runner, divergence: Optional[_Divergence],
                 broken: List[str]) -> str:
        """What went wrong, where to go on from and what to try."""
        if divergence is not None:
            terms = [name for name in divergence.bad_terms if name != 'loss']
            terms = terms or list(divergence.bad_terms)
            if terms:
                first = terms[0]
                what = (f'the loss term {first} is '
                        f'{divergence.bad_terms[first]}')
                if len(terms) > 1:
                    what += f' (also non-finite: {", ".join(terms[1:])})'
            else:
                what = (f'the gradient norm is {divergence.grad_norm} '
                        '(the losses were finite)')
            if divergence.bad_iters > 1:
                what += (f', and stayed non-finite for '
                         f'{divergence.bad_iters} iterations')
            lr = divergence.lr
            head = (f'Training diverged at iteration {divergence.iteration}: '
                    f'{what}; lr {lr:.6g} at that iteration.')
        else:
            lr = self._largest_lr(runner)
            head = (f'Training diverged by iteration {runner.iter + 1}: the '
                    f'weights became non-finite ({len(broken)} tensor(s), '
                    f'first: {broken[0]}) though the losses were finite '
                    f'(lr {lr:.6g}).')
        checkpoint = self._last_checkpoint(runner)
        if checkpoint:
            where = (f'The last good checkpoint is {checkpoint}: after the '
                     f'fix, continue from it ({resume_command(runner)}) or '
                     'start again.')
        else:
            where = ('No checkpoint was written before it; after the fix, '
                     'start again.')
        tries = ['a lower lr (optim_wrapper.optimizer.lr)']
        if not getattr(runner.optim_wrapper, 'clip_grad_kwargs', None):
            tries.append('gradient clipping (optim_wrapper.clip_grad='
                         'dict(max_norm=1.0))')
        if hasattr(runner.optim_wrapper, 'loss_scaler'):
            tries.append('bf16 instead of fp16 (optim_wrapper.dtype='
                         "'bfloat16'), or a lower initial loss scale "
                         '(optim_wrapper.loss_scale=dict(init_scale=1024))')
        else:
            tries.append('AMP with dynamic loss scaling (--amp), which skips '
                         'steps whose gradients overflow')
        return (f'{head} Training stopped; no checkpoint of the diverged '
                f'model was written and it was not evaluated. {where} Try '
                f'{"; ".join(tries)}. DivergenceGuardHook (interval '
                f'{self.interval}, max_bad_iters {self.max_bad_iters}) '
                'stopped it; default_hooks.divergence_guard.enable=False '
                'turns it off.')

    @staticmethod
    def _last_checkpoint(runner) -> Optional[str]:
        """The checkpoint ``last_checkpoint`` names, if it exists (every
        checkpoint is checked before it is saved, so it is a good one)."""
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return None
        with open(pointer) as f:
            path = f.read().strip()
        return path if path and osp.isfile(path) else None
