# Copyright (c) mmunirep contributors. All rights reserved.
"""Summarise the main job (tools/run_demo.sh): metrics of the trained and
the deploy models, their inference speed, the effective receptive field of
the trained backbone, and where everything (figures, logs) is."""
import argparse
import json
import os.path as osp

# task -> (metric key, printed name, scale to percent)
METRICS = dict(
    seg=[('mIoU', 'mIoU', 1.0)],
    det=[('coco/bbox_mAP', 'box AP', 100.0),
         ('coco/segm_mAP', 'mask AP', 100.0)])


def read_json(path):
    with open(path) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('demo_dir', help='work_dirs/demo')
    parser.add_argument('--seconds', type=int, help='wall time of the job')
    args = parser.parse_args()
    rows, summary = [], {}
    for task, metrics in METRICS.items():
        root = osp.join(args.demo_dir, task)
        trained = read_json(osp.join(root, 'test_trained',
                                     'test_metrics.json'))['metrics']
        deploy = read_json(osp.join(root, 'test_deploy',
                                    'test_metrics.json'))['metrics']
        speed = read_json(osp.join(root, 'speed.json'))['results']
        for key, name, scale in metrics:
            row = dict(task=task, metric=name,
                       trained=trained[key] * scale,
                       deploy=deploy[key] * scale,
                       train_speed=speed['train']['img_per_s'],
                       deploy_speed=speed['deploy']['img_per_s'])
            rows.append(row)
            summary[f'{task}/{name}'] = row
    print(f"{'task':<5} {'metric':<8} {'trained':>8} {'deploy':>8} "
          f"{'img/s train':>12} {'img/s deploy':>13}")
    for r in rows:
        print(f"{r['task']:<5} {r['metric']:<8} {r['trained']:>8.2f} "
              f"{r['deploy']:>8.2f} {r['train_speed']:>12.2f} "
              f"{r['deploy_speed']:>13.2f}")
    erf = read_json(osp.join(args.demo_dir, 'seg', 'erf.json'))
    summary['erf'] = erf['ratios']
    print(f"\nERF area ratios ({erf['images']} images at {erf['shape']}x"
          f"{erf['shape']}; % of the image holding t of the contribution)")
    for label, ratios in erf['ratios'].items():
        print(f'  {label:<46}' + ''.join(
            f'  t={float(t):.0%}: {100 * r:6.2f}%' for t, r in ratios.items()))
    figures = dict(
        predictions=[f'{args.demo_dir}/{task}/vis' for task in METRICS],
        curves=[f'{args.demo_dir}/{task}/curves.png' for task in METRICS],
        erf=[f'{args.demo_dir}/seg/erf.png'])
    summary['figures'] = figures
    print()
    for name, paths in figures.items():
        print(f"{name + ':':<13}{', '.join(paths)}")
    print(f'logs and checkpoints: {args.demo_dir}/seg, {args.demo_dir}/det')
    if args.seconds is not None:
        print(f'total time: {args.seconds // 60}m{args.seconds % 60:02d}s')
        summary['seconds'] = args.seconds
    with open(osp.join(args.demo_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)


if __name__ == '__main__':
    main()
