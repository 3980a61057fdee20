# UniRepLKNet-A, ImageNet-1K from scratch at 224: 77.0 top-1 in the paper
# (released as unireplknet_a_in1k_224_acc77.03.pth; convert it with
# tools/model_converters/unireplknet_to_mmunirep.py to evaluate it here).
_base_ = './_base_/unireplknet_in1k.py'

model = dict(
    backbone=dict(arch='a', drop_path_rate=0.0),
    head=dict(in_channels=320),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.3),
        dict(type='CutMix', alpha=0.3),
    ]))
