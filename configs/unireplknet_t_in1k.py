# UniRepLKNet-T, ImageNet-1K from scratch at 224: 83.2 top-1 in the paper
# (released as unireplknet_t_in1k_224_acc83.21.pth; convert it with
# tools/model_converters/unireplknet_to_mmunirep.py to evaluate it here).
_base_ = './_base_/unireplknet_in1k.py'

model = dict(
    backbone=dict(arch='t', drop_path_rate=0.2),
    head=dict(in_channels=640),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))
