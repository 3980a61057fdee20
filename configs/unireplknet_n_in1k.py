# UniRepLKNet-N, ImageNet-1K from scratch at 224: 81.6 top-1 in the paper
# (released as unireplknet_n_in1k_224_acc81.64.pth; convert it with
# tools/model_converters/unireplknet_to_mmunirep.py to evaluate it here).
_base_ = './_base_/unireplknet_in1k.py'

model = dict(
    backbone=dict(arch='n', drop_path_rate=0.1),
    head=dict(in_channels=640),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.5),
        dict(type='CutMix', alpha=0.5),
    ]))
