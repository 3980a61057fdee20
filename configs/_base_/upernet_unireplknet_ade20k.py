# UperNet + UniRepLKNet on ADE20K, 512x512 crops, 160k iterations: the shared
# recipe of the paper. Leaf configs set the arch, drop path, gradient
# checkpointing, layer decay and the ImageNet checkpoint: the authors' file by
# its Hugging Face URL, which MMEngine downloads once into the torch hub cache
# (tools/download_checkpoints.py fills that cache for nodes without internet;
# configs/README.md, "Fetching them"); a local file instead:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH.
#
# Batch 16 = 8 GPUs x 2 images. On another GPU count N keep the recipe with
# `--auto-scale-lr` (lr scaled by 2N / 16), or keep lr and set
# `--cfg-options train_dataloader.batch_size=16/N`.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]

# Import mmunirep as soon as the config is read. Building needs nothing (the
# registry resolves `mmunirep.X` by itself), but MMEngine's inferencers
# (DetInferencer, MMSegInferencer, ImageClassificationInferencer) load the
# checkpoint before they build the model: the import lets torch >= 2.6 load
# our training checkpoints (mmunirep allow-lists MMEngine's checkpoint types).
custom_imports = dict(imports=['mmunirep'], allow_failed_imports=False)

crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)

data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmunirep.UniRepLKNet',
        arch='t',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        with_cp=False,
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[80, 160, 320, 640], num_classes=150, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=320, num_classes=150, norm_cfg=norm_cfg),
    test_cfg=dict(mode='whole'))

# Test: keep-ratio resize to (2048, 512), then to a multiple of 32 (the
# authors' mmseg 0.x pipeline).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
# Multi-scale + flip test (`tools/test.py ... --tta`).
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=(int(2048 * r), int(512 * r)),
                    keep_ratio=True)
                for r in img_ratios
            ],
            [dict(type='ResizeToMultiple', size_divisor=32)],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]
train_dataloader = dict(batch_size=2, num_workers=4)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW with layer-wise lr decay; `--amp` switches to AmpOptimWrapper.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmunirep.UniRepLKNetLayerDecayConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='layer_wise', num_layers=12))

# 1500-iteration linear warmup from 1e-6, then poly (power 1) to 0.
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=160000),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=160000, val_interval=4000)
# crash-safe checkpoints (a kill during a save never loses the last one,
# a full disk stops the run with what to do);
# strict, structure-aware loading of the checkpoint a test run evaluates
# (also under mmdet's / mmseg's own tools/test.py)
default_hooks = dict(
    # stop on a NaN / inf loss or weights, before they reach a checkpoint;
    # on SIGTERM / SIGUSR1 (preemption, time limit) save and exit with 75
    divergence_guard=dict(type='mmunirep.DivergenceGuardHook', interval=50),
    preemption=dict(type='mmunirep.PreemptionHook'),
    strict_load=dict(type='mmunirep.StrictCheckpointLoadHook'),
    checkpoint=dict(
        type='mmunirep.AtomicCheckpointHook',
        by_epoch=False,
        interval=4000,
        max_keep_ckpts=3,
        save_best='mIoU',
        rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
