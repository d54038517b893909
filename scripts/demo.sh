#!/usr/bin/env bash
# The README's main command (via `make demo`): train a Win-Win model on the
# generated street scenes (2 windows of 10x10 tokens per 640x352 image), tune
# the attention temperature on whole training images, then evaluate on whole
# images in one forward pass, before and after tuning; print mIoU and save
# prediction overlays.
#
# A second run reuses a finished training (DEMO_RETRAIN=1 trains again).
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
  echo "[demo] training on 2 windows of 10x10 tokens per 640x352 image"
  $PY tools/train.py "$CONFIG" --work-dir "$WORK"
fi
trained=$(date +%s)

miou() {  # mIoU of a checkpoint on the 40 validation images, whole images
  $PY tools/test.py "$CONFIG" "$1" --work-dir "$WORK/$2" "${@:3}" > "$WORK/$2.log" 2>&1 \
    || { tail -n 30 "$WORK/$2.log"; exit 1; }
  grep -oE "Iter\(test\).*mIoU: [0-9.]+" "$WORK/$2.log" | grep -oE "[0-9.]+$" | tail -n1
}
echo "[demo] full-resolution evaluation, one forward pass per image"
$PY tools/tune_temperature.py "$CONFIG" "$CKPT" --out "$WORK/untuned.pth" --set 1.0 \
  --work-dir "$WORK" > "$WORK/untuned.log" 2>&1 || { tail -n 30 "$WORK/untuned.log"; exit 1; }
before=$(miou "$WORK/untuned.pth" test_untuned)
after=$(miou "$CKPT" test --show-dir "$WORK/overlays")
# The same tuned model with mmseg's sliding window: tiles of the training
# window's size (10x10 tokens), 50 % overlap, 4 x 7 = 28 passes per image.
echo "[demo] same model, mmseg slide inference (160x160 tiles, stride 80)"
slide=$(miou "$CKPT" test_slide --cfg-options model.test_cfg.mode=slide \
  "model.test_cfg.crop_size=[160,160]" "model.test_cfg.stride=[80,80]")
end=$(date +%s)
spi() {  # seconds per image of a test log (mmengine's mean iteration time)
  grep -oE "Iter\(test\).*mIoU.* time: [0-9.]+" "$WORK/$1.log" | grep -oE "[0-9.]+$" | tail -n1
}

echo
echo "[demo] ================================================================"
echo "[demo] temperature curve (training loss on whole training images):"
$PY - "$WORK/temperature/temperature.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for m, loss in sorted(r['curve']):
    print(f'[demo]   m={m:.2f}  loss={loss:.5f}' + ('  <- best' if m == r['best'] else ''))
print(f"[demo]   {r['mode']}: {r['evaluations']} of {r['grid_size']} grid values, "
      f"{r['forward_passes']} forward passes (full sweep: {r['grid_forward_passes']})")
if r.get('analytic') is not None:
    print(f"[demo]   analytic start log(N_test)/log(N_train) = {r['analytic']:.3f}, "
          f"{r['analytic_distance']:.3f} from the optimum {r['best']:.2f}")
PY
echo "[demo] plot: $WORK/temperature/temperature.png"
echo "[demo] whole-image mIoU, temperature 1.0 (untuned): $before"
# Time per image from the untuned test: same model and cost, and no overlays
# drawn (the tuned test writes them, which dominates its time).
echo "[demo] whole-image mIoU, tuned temperature:         $after  ($(spi test_untuned) s/image, 1 pass)"
echo "[demo] slide mIoU (160x160, stride 80), tuned:         $slide  ($(spi test_slide) s/image, 28 passes)"
echo "[demo] time: training + tuning $((trained - start)) s, evaluation $((end - trained)) s"
echo "[demo] overlays (ground truth | prediction): $WORK/overlays/vis_data/vis_image/"
echo "[demo] ================================================================"
