#!/usr/bin/env bash
# The README's main command (via `make demo`): train a Win-Win model on the
# generated street scenes, then evaluate it on whole images in one forward
# pass, print mIoU and save prediction overlays.
#
# A second run reuses a finished training (delete work_dirs/demo, or set
# DEMO_RETRAIN=1, to train again).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CONFIG=configs/winwin/winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py
WORK=${DEMO_WORK_DIR:-work_dirs/demo}
CKPT=$WORK/iter_500.pth
start=$(date +%s)

if [ -f "$CKPT" ] && [ "${DEMO_RETRAIN:-0}" != 1 ]; then
  echo "[demo] reusing $CKPT (DEMO_RETRAIN=1 to train again)"
else
  echo "[demo] training on 2 windows of 10x10 tokens per 640x352 image ($CONFIG)"
  $PY tools/train.py "$CONFIG" --work-dir "$WORK"
fi
trained=$(date +%s)

echo "[demo] full-resolution evaluation (one forward pass per image)"
$PY tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/test" \
  --show-dir "$WORK/overlays" 2>&1 | tee "$WORK/test.log" | grep -E "Iter\(test\)|mIoU|IoU \||^\|" || true
miou=$(grep -oE "Iter\(test\).*mIoU: [0-9.]+" "$WORK/test.log" | grep -oE "mIoU: [0-9.]+" | tail -n1)
end=$(date +%s)

echo
echo "[demo] ====================================================="
echo "[demo] whole-image $miou (40 generated validation images)"
echo "[demo] training: $((trained - start)) s, evaluation: $((end - trained)) s"
echo "[demo] overlays (ground truth | prediction): $WORK/overlays/vis_data/vis_image/"
echo "[demo] ====================================================="
