# Copyright (c) mmunirep contributors. All rights reserved.
"""An MMEngine Runner resumes from its own checkpoint on torch >= 2.6."""
import subprocess
import sys

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmunirep  # noqa: F401  (installs the torch.load allow-list)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, targets, mode='tensor'):
        outputs = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(outputs - torch.stack(targets)).pow(2).mean())
        return outputs


class ToyDataset(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 16

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(4, generator=gen),
                    targets=torch.randn(1, generator=gen))


class RecordStart(Hook):
    """Records the iteration and weights the loop starts from."""

    def before_train(self, runner):
        self.iter = runner.iter
        self.weights = {k: v.clone() for k, v in
                        runner.model.state_dict().items()}


def make_runner(work_dir, max_iters, resume, hooks=()):
    torch.manual_seed(0)  # the same initial weights in every run
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(), sampler=dict(type='DefaultSampler',
                                               shuffle=True),
            batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                             begin=0, end=4),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False)),
        custom_hooks=list(hooks),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmengine')


def test_runner_resumes_from_its_checkpoint(tmp_path):
    first = make_runner(tmp_path, 2, resume=False)
    first.train()
    checkpoint = tmp_path / 'iter_2.pth'
    assert checkpoint.is_file()
    saved = torch.load(checkpoint, map_location='cpu')
    assert saved['meta']['iter'] == 2 and 'message_hub' in saved

    record = RecordStart()
    second = make_runner(tmp_path, 4, resume=True, hooks=[record])
    second.train()
    assert record.iter == 2
    for key, value in saved['state_dict'].items():
        assert torch.equal(record.weights[key], value), key
    assert second.iter == 4
    assert (tmp_path / 'iter_4.pth').is_file()
    # optimizer, scheduler and data order came back too: the result equals
    # an uninterrupted 4-iteration run
    straight = make_runner(tmp_path / 'straight', 4, resume=False)
    straight.train()
    for key, value in straight.model.state_dict().items():
        assert torch.allclose(second.model.state_dict()[key], value,
                              atol=1e-6), key
    assert second.optim_wrapper.get_lr() == straight.optim_wrapper.get_lr()


def test_plain_torch_load_refuses_what_mmunirep_allows(tmp_path):
    make_runner(tmp_path, 2, resume=False).train()
    code = ('import torch; torch.load({!r}, map_location="cpu"); '
            'print("loaded")').format(str(tmp_path / 'iter_2.pth'))
    plain = subprocess.run([sys.executable, '-c', code], capture_output=True,
                           text=True)
    fixed = subprocess.run([sys.executable, '-c', 'import mmunirep; ' + code],
                           capture_output=True, text=True)
    assert fixed.stdout.strip() == 'loaded', fixed.stderr
    if tuple(int(v) for v in torch.__version__.split('.')[:2]) >= (2, 6):
        assert plain.returncode != 0
        assert 'Weights only load failed' in plain.stderr
