# UniRepLKNet-F, ImageNet-1K from scratch at 224: 78.6 top-1 in the paper
# (released as unireplknet_f_in1k_224_acc78.58.pth; convert it with
# tools/model_converters/unireplknet_to_mmunirep.py to evaluate it here).
_base_ = './_base_/unireplknet_in1k.py'

model = dict(
    backbone=dict(arch='f', drop_path_rate=0.0),
    head=dict(in_channels=384),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.3),
        dict(type='CutMix', alpha=0.3),
    ]))
