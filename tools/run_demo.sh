#!/usr/bin/env bash
# The main job, end to end on the CPU (README, command 1):
#   set-up if needed -> generated shapes dataset -> UperNet segmentation demo
#   trained with tools/dist_train.sh on 2 CPU processes -> Cascade Mask R-CNN
#   demo trained with tools/train.py -> evaluation -> tools/reparameterize.py
#   -> tools/test.py on the deploy checkpoints -> tools/image_demo.py PNGs ->
#   inference speed of both structures -> training curves and the effective
#   receptive field of the trained backbone -> summary table.
#
#   bash tools/run_demo.sh                # about 16 minutes on 2 cores
#   MMUNIREP_DEMO_QUICK=1 bash tools/run_demo.sh   # a few iterations (CI)
#
# Outputs go to work_dirs/demo (MMUNIREP_DEMO_DIR); the dataset to data/demo
# (MMUNIREP_DEMO_DATA; data/demo_quick in quick mode).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START=$SECONDS
bash tools/setup_env.sh
PY=$ROOT/.venv/bin/python
OUT=${MMUNIREP_DEMO_DIR:-work_dirs/demo}
SEG=configs/demo/upernet_unireplknet_a_shapes.py
DET=configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py

if [ "${MMUNIREP_DEMO_QUICK:-0}" = 1 ]; then
  # the same commands on a tiny dataset, for a few iterations
  DATA=${MMUNIREP_DEMO_DATA:-data/demo_quick}
  DATA_ARGS=(--num-train 8 --num-val 4)
  SEG_OPTS=(train_cfg.max_iters=4 train_cfg.val_interval=4
            default_hooks.checkpoint.interval=4)
  DET_OPTS=(train_cfg.max_epochs=1 train_cfg.val_interval=1
            default_hooks.checkpoint.interval=1)
  ROUNDS=1
  ERF_ARGS=(--num-images 2 --shape 64)
else
  DATA=${MMUNIREP_DEMO_DATA:-data/demo}
  DATA_ARGS=()
  SEG_OPTS=()
  DET_OPTS=()
  ROUNDS=5
  ERF_ARGS=(--num-images 20 --shape 256)
fi
IMAGES=$DATA/coco/val2017
for split in train val test; do
  SEG_OPTS+=("${split}_dataloader.dataset.data_root=$DATA/ade")
  DET_OPTS+=("${split}_dataloader.dataset.data_root=$DATA/coco/")
done
DET_OPTS+=("val_evaluator.ann_file=$DATA/coco/annotations/instances_val2017.json"
           "test_evaluator.ann_file=$DATA/coco/annotations/instances_val2017.json")

step() { printf '\n[demo %3dm%02ds] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*"; }

step "generating the shapes dataset"
"$PY" tools/make_demo_data.py --out "$DATA" "${DATA_ARGS[@]}"
# a few validation images to draw predictions on
rm -rf "$OUT/samples" && mkdir -p "$OUT/samples"
find "$IMAGES" -name '*.jpg' | sort | head -n 6 | xargs -I{} cp {} "$OUT/samples/"

step "segmentation: UperNet + UniRepLKNet-A, tools/dist_train.sh on 2 CPU processes"
bash tools/dist_train.sh "$SEG" 2 --work-dir "$OUT/seg" --cfg-options "${SEG_OPTS[@]}"

step "detection: Cascade Mask R-CNN + UniRepLKNet-A (EMA, layer decay), tools/train.py"
# like the paper's detectors, which start from an ImageNet backbone, the demo
# detector starts from the backbone the segmentation demo just trained
DET_OPTS+=("model.backbone.init_cfg.checkpoint=$(cat "$OUT/seg/last_checkpoint")")
"$PY" tools/train.py "$DET" --work-dir "$OUT/det" --cfg-options "${DET_OPTS[@]}"

for task in seg det; do
  if [ $task = seg ]; then CFG=$SEG; OPTS=("${SEG_OPTS[@]}"); KEYS=(loss mIoU);
  else CFG=$DET; OPTS=("${DET_OPTS[@]}"); KEYS=(loss coco/bbox_mAP coco/segm_mAP); fi
  CKPT=$(cat "$OUT/$task/last_checkpoint")  # written by the Runner
  DEPLOY_CFG=configs/demo/deploy/$(basename "$CFG")
  step "$task: evaluating the trained model (tools/test.py)"
  "$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$OUT/$task/test_trained" \
    --cfg-options "${OPTS[@]}"
  step "$task: re-parameterizing (tools/reparameterize.py)"
  "$PY" tools/reparameterize.py "$CFG" "$CKPT" "$OUT/$task/deploy.pth" \
    --cfg-options "${OPTS[@]}"
  step "$task: evaluating the deploy model (tools/test.py, deploy config)"
  "$PY" tools/test.py "$DEPLOY_CFG" "$OUT/$task/deploy.pth" \
    --work-dir "$OUT/$task/test_deploy" --cfg-options "${OPTS[@]}"
  step "$task: drawing predictions (tools/image_demo.py)"
  # enlarged to 512 px wide; 0.5 hides the low-score duplicates of a box
  "$PY" tools/image_demo.py "$DEPLOY_CFG" "$OUT/$task/deploy.pth" "$OUT/samples" \
    --out-dir "$OUT/$task/vis" --min-width 512 --score-thr 0.5 \
    --cfg-options "${OPTS[@]}"
  step "$task: inference speed, training vs deploy structure (tools/analysis/benchmark.py)"
  "$PY" tools/analysis/benchmark.py "$CFG" --checkpoint "$CKPT" --shape 128 160 \
    --rounds "$ROUNDS" --json "$OUT/$task/speed.json" --cfg-options "${OPTS[@]}"
  step "$task: training curves (tools/analysis/plot_curves.py)"
  "$PY" tools/analysis/plot_curves.py "$OUT/$task" --keys "${KEYS[@]}" \
    --out "$OUT/$task/curves.png" --title "$(basename "$CFG" .py)"
  if [ $task = seg ]; then
    step "seg: effective receptive field, trained vs untrained backbone (tools/analysis/visualize_erf.py)"
    "$PY" tools/analysis/visualize_erf.py "$CFG" --checkpoint "$CKPT" --compare "$CFG" \
      --images "$DATA/ade/images/validation" "${ERF_ARGS[@]}" --out "$OUT/seg/erf.png" \
      --json "$OUT/seg/erf.json" --cfg-options "${OPTS[@]}"
  fi
done

step "summary"
"$PY" tools/analysis/demo_summary.py "$OUT" --seconds $((SECONDS - START))
