# Copyright (c) mmunirep contributors. All rights reserved.
"""Run an upstream inferencer on one image in a fresh process, as a user
would: no ``import mmunirep`` (the config's ``custom_imports`` must do it).

    python tests/test_tools/inferencer_script.py det|seg|cls CONFIG WEIGHTS \
        IMAGE OUT.npz

Writes the predictions to OUT.npz and checks that every tensor of the
checkpoint reached the model (the inferencers load non-strictly).
"""
import sys

import numpy as np
import torch


def run(task, config, weights, image):
    if task == 'det':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(model=config, weights=weights,
                                   device='cpu', show_progress=False)
        sample = inferencer(image, return_datasamples=True)['predictions'][0]
        found = sample.pred_instances
        arrays = dict(labels=found.labels, scores=found.scores,
                      bboxes=found.bboxes, masks=found.masks)
    elif task == 'seg':
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(model=config, weights=weights,
                                     device='cpu')
        sample = inferencer(image, return_datasamples=True)
        arrays = dict(logits=sample.seg_logits.data,
                      labels=sample.pred_sem_seg.data)
    else:
        from mmpretrain.apis import ImageClassificationInferencer
        inferencer = ImageClassificationInferencer(
            model=config, pretrained=weights, device='cpu')
        result = inferencer(image)[0]
        arrays = dict(scores=result['pred_scores'],
                      labels=np.array([result['pred_label']]))
    return inferencer.model, {
        k: v.cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        for k, v in arrays.items()
    }


def main():
    if 'mmunirep' in sys.modules:
        raise SystemExit('mmunirep was imported before the inferencer')
    task, config, weights, image, out = sys.argv[1:]
    model, arrays = run(task, config, weights, image)
    if 'mmunirep' not in sys.modules:
        raise SystemExit("the config's custom_imports did not import "
                         'mmunirep')
    saved = torch.load(weights, map_location='cpu', weights_only=True)
    saved = saved.get('state_dict', saved)
    own = model.state_dict()
    if set(own) != set(saved):
        raise SystemExit(
            f'keys differ: model only {sorted(set(own) - set(saved))[:3]}, '
            f'checkpoint only {sorted(set(saved) - set(own))[:3]}')
    different = [k for k in own if not torch.equal(own[k].cpu(), saved[k])]
    if different:
        raise SystemExit(f'{len(different)} tensors not loaded, e.g. '
                         f'{different[0]}')
    np.savez(out, **arrays)
    print(f'{task}: {len(own)} tensors loaded; predictions in {out}')


if __name__ == '__main__':
    main()
