# UniRepLKNet ImageNet-1K classification at 224 (mmpretrain ImageClassifier):
# the authors' from-scratch recipe (300 epochs, batch 4096, AdamW lr 4e-3 with
# cosine decay and 5 warmup epochs, wd 0.05, RandAugment m9-mstd0.5, random
# erasing 0.25, label smoothing 0.1, Mixup / CutMix). Leaf configs set the
# arch, drop path and Mixup / CutMix strengths. Also the config to evaluate
# the released IN-1K checkpoints after
# tools/model_converters/unireplknet_to_mmunirep.py.
#
# Batch 4096 = 32 GPUs x 128; on other setups use `--auto-scale-lr`.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]

# Import mmunirep as soon as the config is read. Building needs nothing (the
# registry resolves `mmunirep.X` by itself), but MMEngine's inferencers
# (DetInferencer, MMSegInferencer, ImageClassificationInferencer) load the
# checkpoint before they build the model: the import lets torch >= 2.6 load
# our training checkpoints (mmunirep allow-lists MMEngine's checkpoint types).
custom_imports = dict(imports=['mmunirep'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmunirep.UniRepLKNet',
        arch='t',
        out_indices=(3, ),
        gap_before_final_norm=True,
        drop_path_rate=0.2),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=640,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    optimizer=dict(lr=4e-3),
    # plain-dict parameter groups: compile=True can trace the optimizer step
    constructor='mmunirep.PlainGroupsOptimWrapperConstructor',
    # no weight decay on norms, biases and per-channel scales (incl. GRN)
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
        custom_keys={'.gamma': dict(decay_mult=0.0),
                     '.beta': dict(decay_mult=0.0)}),
    clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        end=5,
        convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=5)
]
auto_scale_lr = dict(base_batch_size=4096)
# crash-safe checkpoints (a kill during a save never loses the last one,
# a full disk stops the run with what to do)
default_hooks = dict(
    # stop on a NaN / inf loss or weights, before they reach a checkpoint;
    # on SIGTERM / SIGUSR1 (preemption, time limit) save and exit with 75
    divergence_guard=dict(type='mmunirep.DivergenceGuardHook', interval=50),
    preemption=dict(type='mmunirep.PreemptionHook'),
    checkpoint=dict(type='mmunirep.AtomicCheckpointHook'),
    strict_load=dict(type='mmunirep.StrictCheckpointLoadHook'))
