# Cascade Mask R-CNN + UniRepLKNet on COCO, 3x schedule with DETR-style
# multi-scale / crop augmentation: the shared recipe of the paper, written
# like mmdet's own ConvNeXt Cascade Mask R-CNN configs. Leaf configs set the
# arch, drop path, layer decay, EMA and the ImageNet checkpoint (the authors'
# file by its Hugging Face URL, downloaded once into the torch hub cache;
# tools/download_checkpoints.py pre-fetches it; a local file instead:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH).
#
# Batch 16 = 8 GPUs x 2 images; on N GPUs use `--auto-scale-lr`.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

# Import mmunirep as soon as the config is read. Building needs nothing (the
# registry resolves `mmunirep.X` by itself), but MMEngine's inferencers
# (DetInferencer, MMSegInferencer, ImageClassificationInferencer) load the
# checkpoint before they build the model: the import lets torch >= 2.6 load
# our training checkpoints (mmunirep allow-lists MMEngine's checkpoint types).
custom_imports = dict(imports=['mmunirep'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)


def _box_head(target_stds):
    # 4 shared convs + 1 fc (1024), class-specific decoded-box regression
    # with GIoU loss (weight 10)
    return dict(
        type='ConvFCBBoxHead',
        num_shared_convs=4,
        num_shared_fcs=1,
        in_channels=256,
        conv_out_channels=256,
        fc_out_channels=1024,
        roi_feat_size=7,
        num_classes=80,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=target_stds),
        reg_class_agnostic=False,
        reg_decoded_bbox=True,
        norm_cfg=norm_cfg,
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


model = dict(
    backbone=dict(
        _delete_=True,
        type='mmunirep.UniRepLKNet',
        arch='t',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,
        with_cp=True,
        norm_cfg=norm_cfg),
    neck=dict(in_channels=[80, 160, 320, 640]),
    roi_head=dict(bbox_head=[
        _box_head([0.1, 0.1, 0.2, 0.2]),
        _box_head([0.05, 0.05, 0.1, 0.1]),
        _box_head([0.033, 0.033, 0.067, 0.067]),
    ]))

# Flip, then either multi-scale resize (short side 480..800 step 32, long side
# <= 1333) or resize {400, 500, 600} -> crop 384..600 -> multi-scale resize.
multi_scales = [(s, 1333) for s in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='RandomChoiceResize', scales=multi_scales,
                 keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=multi_scales,
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[27, 33],
        gamma=0.1)
]

# AdamW with layer-wise lr decay (12 layers); `--amp` switches to
# AmpOptimWrapper.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmunirep.UniRepLKNetLayerDecayConstructor',
    paramwise_cfg=dict(decay_rate=0.8, decay_type='layer_wise', num_layers=12))

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
        interval=1,
        max_keep_ckpts=5,
        save_best='coco/bbox_mAP',
        rule='greater'))
