# UniRepLKNet-P, ImageNet-1K from scratch at 224: 80.2 top-1 in the paper
# (released as unireplknet_p_in1k_224_acc80.23.pth; convert it with
# tools/model_converters/unireplknet_to_mmunirep.py to evaluate it here).
_base_ = './_base_/unireplknet_in1k.py'

model = dict(
    backbone=dict(arch='p', drop_path_rate=0.1),
    head=dict(in_channels=512),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.3),
        dict(type='CutMix', alpha=0.3),
    ]))
