# CPU demo: the real COCO recipe (../_base_/cascade_mask_rcnn_unireplknet_coco
# _ema.py: Cascade Mask R-CNN + UniRepLKNet, DETR-style multi-scale / crop
# augmentation, AdamW with the layer-decay constructor, EMA) scaled down to
# train in minutes on a 2-core CPU, on the generated shapes dataset in COCO
# layout (python tools/make_demo_data.py). As the paper's detectors start from
# an ImageNet backbone, this one starts from the backbone the segmentation
# demo trained from scratch on the same images, so nothing comes from outside.
# Every change from the recipe says why.
_base_ = '../_base_/cascade_mask_rcnn_unireplknet_coco_ema.py'

data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('circle', 'triangle', 'rectangle', 'star'),
    palette=[(220, 50, 50), (50, 180, 60), (50, 100, 230), (240, 200, 30)])
# BN, not SyncBN: SyncBN needs GPUs
norm_cfg = dict(type='BN', requires_grad=True)
# 128 channels instead of 256 throughout the heads: the paper's heads cost
# more than 10 s per iteration on 2 cores
channels = 128


def _box_head(target_stds):
    # 2 shared fcs (256) instead of 4 convs + 1 fc (1024), for the CPU; the
    # rest as in the recipe (class-specific decoded-box GIoU regression)
    return dict(
        type='Shared2FCBBoxHead',
        in_channels=channels,
        fc_out_channels=256,
        roi_feat_size=7,
        num_classes=4,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=target_stds),
        reg_class_agnostic=False,
        reg_decoded_bbox=True,
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


def _rcnn_train(iou):
    return dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=iou,
            neg_iou_thr=iou,
            min_pos_iou=iou,
            match_low_quality=False,
            ignore_iof_thr=-1),
        # 64 RoIs per image instead of 512: few objects per image
        sampler=dict(
            type='RandomSampler',
            num=64,
            pos_fraction=0.25,
            neg_pos_ub=-1,
            add_gt_as_proposals=True),
        mask_size=28,
        pos_weight=-1,
        debug=False)


model = dict(
    backbone=dict(
        arch='a',  # the smallest UniRepLKNet, for the CPU
        drop_path_rate=0.0,  # a few hundred iterations: no regularization
        with_cp=False,  # memory is not the limit here; speed is
        # as in the segmentation demo, whose weights this backbone loads
        # (1e-6 in the recipe mutes every block of a short run from scratch)
        layer_scale_init_value=1.0,
        norm_cfg=norm_cfg,
        # As the paper's detectors start from an ImageNet backbone, the demo
        # detector starts from the backbone the segmentation demo trained on
        # the same images (tools/run_demo.sh runs it first and passes its
        # checkpoint); model.backbone.init_cfg=None trains from scratch.
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/demo/seg/iter_300.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[40, 80, 160, 320], out_channels=channels),
    rpn_head=dict(
        in_channels=channels,
        feat_channels=channels,
        # objects are 15-75 px: anchors from 16 px (32 px in the recipe)
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=[
            _box_head([0.1, 0.1, 0.2, 0.2]),
            _box_head([0.05, 0.05, 0.1, 0.1]),
            _box_head([0.033, 0.033, 0.067, 0.067]),
        ],
        mask_roi_extractor=dict(out_channels=channels),
        # 2 convs instead of 4
        mask_head=dict(
            num_convs=2,
            in_channels=channels,
            conv_out_channels=channels,
            num_classes=4)),
    train_cfg=dict(rcnn=[_rcnn_train(0.5), _rcnn_train(0.6),
                         _rcnn_train(0.7)]),
    # 300 proposals instead of 1000 at test time: few objects per image
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=300)))

# The recipe's DETR-style augmentation at 1/5 scale: 160x128 images.
multi_scales = [(s, 320) for s in range(128, 193, 16)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
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
                            scales=[(96, 320), (112, 320), (128, 320)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(80, 128),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=multi_scales,
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(200, 160), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# a 10x higher lr than the recipe: the heads start from scratch and have a few
# hundred iterations; the layer ids of A's own depth (5 layers; the recipe's
# 12 are for S..XL)
optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(num_layers=5))
# 3 epochs (360 iterations) instead of 36: warmup 50 iterations, the lr step
# (x0.1) for the last epoch
max_epochs = 3
# validation after every epoch draws the AP curves
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[max_epochs - 1],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
