# Copyright (c) mmunirep contributors. All rights reserved.
"""DivergenceGuardHook: a run whose loss, gradients or weights turn NaN stops
with what to do, before a broken checkpoint or "best" is written; AMP's
skipped steps do not stop it; recording a step never reads the device."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmunirep  # noqa: F401  (lets torch.load read Runner checkpoints)
from mmunirep.engine import DivergenceGuardHook
from mmunirep.engine.training_stop import EXIT_DIVERGED, TrainingStopped
from tests.test_engine import long_run_parts  # noqa: F401  (registers toys)


class BreakWeights(Hook):
    """Makes a weight infinite after a given iteration's update (as an
    overflowing update would, with the losses still finite)."""
    priority = 'HIGHEST'

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            with torch.no_grad():
                runner.model.linear.weight[0, 0] = float('inf')


def toy_runner(work_dir, max_iters=8, model=None, optim_wrapper=None,
               checkpoint=None, guard=None, val_interval=None,
               custom_hooks=()):
    """The toy model trained for ``max_iters`` with the hooks our bases
    use."""
    torch.manual_seed(0)
    dataloader = dict(dataset=dict(type='LongRunToyDataset'), batch_size=4,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      num_workers=0)
    val = dict(val_dataloader=dataloader, val_evaluator=dict(
        type='RisingScore'), val_cfg=dict()) if val_interval else {}
    return Runner(
        model=dict(type='LongRunToyModel', **(model or {})),
        work_dir=str(work_dir),
        train_dataloader=dataloader,
        optim_wrapper=optim_wrapper or dict(
            optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters,
                       val_interval=val_interval or max_iters),
        default_hooks=dict(
            divergence_guard=dict(type='mmunirep.DivergenceGuardHook',
                                  **(guard or dict(interval=4))),
            checkpoint=dict(type='mmunirep.AtomicCheckpointHook',
                            by_epoch=False, **(checkpoint or dict(
                                interval=2)))),
        custom_hooks=list(custom_hooks), default_scope='mmengine', **val)


def finite_checkpoints(work_dir):
    """The checkpoint files of a work dir, each checked to hold only finite
    tensors."""
    names = sorted(p.name for p in Path(work_dir).glob('*.pth'))
    for name in names:
        state = torch.load(Path(work_dir) / name, map_location='cpu',
                           weights_only=False)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), name
    return names


def test_nan_loss_stops_with_the_message_and_no_broken_checkpoint(tmp_path):
    # NaN at iteration 3; the guard checks every 4 iterations and before
    # every save (here every 2 iterations): it stops before saving iter_4
    runner = toy_runner(tmp_path, model=dict(nan_loss_at=[3]))
    with pytest.raises(TrainingStopped) as stop:
        runner.train()
    assert stop.value.code == EXIT_DIVERGED
    message = str(stop.value)
    assert 'Training diverged at iteration 3: the loss term loss_reg is ' \
        'nan' in message
    assert 'lr 0.01 at that iteration' in message
    assert f'The last good checkpoint is {tmp_path / "iter_2.pth"}' in \
        message
    assert '--resume' in message and 'gradient clipping' in message
    assert 'AMP' in message and 'a lower lr' in message
    assert finite_checkpoints(tmp_path) == ['iter_2.pth']


def test_best_is_never_a_diverged_model(tmp_path):
    # validation every 2 iterations keeps the best score; the model breaks
    # at iteration 3 and would have scored as well as before
    runner = toy_runner(tmp_path, model=dict(nan_loss_at=[3]),
                        checkpoint=dict(interval=100, save_best='score',
                                        rule='greater'),
                        val_interval=2, guard=dict(interval=100))
    with pytest.raises(TrainingStopped):
        runner.train()
    assert finite_checkpoints(tmp_path) == ['best_score_iter_2.pth']


def test_non_finite_gradients_stop_a_run_without_amp(tmp_path):
    runner = toy_runner(
        tmp_path, model=dict(inf_grad_at=[5]), guard=dict(interval=100),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01),
                           clip_grad=dict(max_norm=1.0)),
        checkpoint=dict(interval=4))
    with pytest.raises(TrainingStopped) as stop:
        runner.train()
    assert 'Training diverged at iteration 5: the gradient norm is' in str(
        stop.value)
    assert 'gradient clipping' not in str(stop.value)  # already on
    assert finite_checkpoints(tmp_path) == ['iter_4.pth']


def test_amp_skipped_steps_do_not_count(tmp_path):
    """Infinite gradients under a dynamic loss scale are skipped steps; the
    run goes on, its weights stay finite."""
    runner = toy_runner(
        tmp_path, model=dict(inf_grad_at=[2, 3, 4, 6]),
        guard=dict(interval=1),
        optim_wrapper=dict(type='CpuAmpOptimWrapper',
                           optimizer=dict(type='SGD', lr=0.01),
                           clip_grad=dict(max_norm=1.0)))
    runner.train()
    assert runner.optim_wrapper.loss_scaler.get_scale() == 2.**8 / 2**4
    assert not math.isfinite(
        runner.message_hub.get_scalar('train/grad_norm').data[0][5])
    assert finite_checkpoints(tmp_path) == [
        'iter_2.pth', 'iter_4.pth', 'iter_6.pth', 'iter_8.pth']


def test_max_bad_iters_tolerates_a_run_of_bad_iterations(tmp_path):
    # AMP skips the steps whose loss overflowed: two in a row are allowed
    runner = toy_runner(
        tmp_path, model=dict(nan_loss_at=[3, 4, 6, 7, 8]),
        guard=dict(interval=1, max_bad_iters=2),
        optim_wrapper=dict(type='CpuAmpOptimWrapper',
                           optimizer=dict(type='SGD', lr=0.01)),
        checkpoint=dict(interval=100))
    with pytest.raises(TrainingStopped) as stop:
        runner.train()
    assert 'Training diverged at iteration 6: the loss term loss_reg is nan' \
        ', and stayed non-finite for 3 iterations' in str(stop.value)
    assert 'bf16 instead of fp16' in str(stop.value)


def test_enable_false_turns_it_off(tmp_path):
    runner = toy_runner(tmp_path, model=dict(nan_loss_at=[3]),
                        guard=dict(enable=False),
                        checkpoint=dict(interval=100))
    runner.train()  # to the end, as without the guard


def test_non_finite_weights_stop_before_a_save(tmp_path):
    """Weights can break with finite losses (the update itself overflows):
    the weights are checked whenever a checkpoint is due."""
    runner = toy_runner(tmp_path, guard=dict(interval=100),
                        checkpoint=dict(interval=3),
                        custom_hooks=[BreakWeights(6)])
    with pytest.raises(TrainingStopped) as stop:
        runner.train()
    assert 'Training diverged by iteration 6: the weights became non-finite ' \
        '(1 tensor(s), first: linear.weight) though the losses were ' \
        'finite' in str(stop.value)
    assert finite_checkpoints(tmp_path) == ['iter_3.pth']
    # any other save (another hook's) is checked as it happens
    guard = next(h for h in runner.hooks
                 if isinstance(h, DivergenceGuardHook))
    with pytest.raises(TrainingStopped, match='first: linear.weight'):
        guard.before_save_checkpoint(runner, dict(
            state_dict=runner.model.state_dict()))


class RecordingTensor(torch.Tensor):
    """Records every torch function called on it."""
    calls = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.calls.append(getattr(func, '__name__', str(func)))
        return super().__torch_function__(func, types, args, kwargs or {})


def test_recording_a_step_never_reads_the_device(tmp_path):
    """Between checks the guard keeps the loss tensors as they are: no
    .item(), .cpu(), bool() or float() (each a host synchronisation on a
    GPU); a check reads them all at once."""
    runner = toy_runner(tmp_path, max_iters=4, guard=dict(interval=4),
                        checkpoint=dict(interval=100))
    runner.train()  # builds everything; then drive the hook by hand
    guard = next(h for h in runner.hooks
                 if isinstance(h, DivergenceGuardHook))
    syncing = {'item', 'cpu', 'tolist', '__bool__', '__float__', 'to',
               'numpy', '__format__', '__repr__'}
    for iteration in range(3):
        runner.train_loop._iter = iteration
        RecordingTensor.calls = []
        losses = dict(loss=torch.tensor(1.).as_subclass(RecordingTensor),
                      loss_mse=torch.tensor(1.).as_subclass(RecordingTensor))
        guard.after_train_iter(runner, iteration, outputs=losses)
        assert not syncing & set(RecordingTensor.calls), RecordingTensor.calls
    assert len(guard._steps) == 3
    runner.train_loop._iter = 3
    guard.after_train_iter(runner, 3, outputs=dict(loss=torch.tensor(1.)))
    assert guard._steps == []  # checked at the 4th iteration


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='interval must be a positive int'):
        DivergenceGuardHook(interval=0)
    with pytest.raises(ValueError, match='max_bad_iters must be an int >= 0'):
        DivergenceGuardHook(max_bad_iters=-1)
