# CPU demo: the real ADE20K recipe (../_base_/upernet_unireplknet_ade20k.py:
# UperNet + UniRepLKNet, AdamW with the layer-decay constructor, warmup + poly,
# the ADE20K pipelines) scaled down to train from scratch in minutes on a
# 2-core CPU, on the generated shapes dataset in ADE20K layout
# (python tools/make_demo_data.py). Every change from the recipe says why.
_base_ = '../_base_/upernet_unireplknet_ade20k.py'

data_root = 'data/demo/ade'
metainfo = dict(
    classes=('background', 'circle', 'triangle', 'rectangle', 'star'),
    palette=[[90, 90, 90], [220, 50, 50], [50, 180, 60], [50, 100, 230],
             [240, 200, 30]])
# 160x128 images: 128 crops instead of 512
crop_size = (128, 128)
# BN, not SyncBN: SyncBN needs GPUs (the demo runs 2 CPU processes)
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch='a',  # the smallest UniRepLKNet, for the CPU
        drop_path_rate=0.0,  # a few hundred iterations: no regularization
        # 1e-6 in the recipe (made for 300 ImageNet epochs) mutes every
        # block for the first hundreds of iterations of a short run from
        # scratch; 1.0 lets them learn at once
        layer_scale_init_value=1.0,
        norm_cfg=norm_cfg,
        init_cfg=None),  # from scratch: no ImageNet checkpoint to download
    decode_head=dict(
        in_channels=[40, 80, 160, 320],
        channels=128,  # 512 in the recipe; 128 is plenty for 5 classes
        num_classes=5,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=160, channels=64, num_classes=5, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(160, 128),
        ratio_range=(0.75, 1.5),  # 0.5-2.0 in the recipe; small images
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    # no PhotoMetricDistortion: its hue shifts would erase the colour cue
    # that separates this dataset's classes
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 128), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_dataloader = dict(
    batch_size=4,  # per process; x2 processes = 8
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        dataset,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        dataset,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = None

# from scratch: a 10x higher lr than fine-tuning from ImageNet, and the
# layer ids of A's own depth (5 layers; the recipe's 12 are for S..XL)
optim_wrapper = dict(
    optimizer=dict(lr=1e-3), paramwise_cfg=dict(decay_rate=0.9, num_layers=5))
max_iters = 300  # 160k in the recipe
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=30),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=30,
         end=max_iters),
]
# validation every 50 iterations (a few seconds each) draws the mIoU curve
train_cfg = dict(max_iters=max_iters, val_interval=50)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
