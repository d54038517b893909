#!/usr/bin/env bash
# `make demo-flow`: Win-Win optical flow on generated scenes in the Sintel
# layout. Trains a small CroCo-Flow-style model (tokens that embed 64x64
# pixels, a matching readout; see the config) from scratch with flow-guided
# windows (2 windows of 6x6 tokens in frame 1, 4 of 4x4 in frame 2), tunes the
# attention temperature on whole training pairs, then evaluates the 18
# validation pairs (temple_2, temple_3) at full resolution in one forward pass
# and with CroCo-Flow tiling; prints EPE, outlier rates and time per pair, and
# writes flow pictures (frame 1 | ground truth | prediction | error).
#
# A second run reuses a finished training (DEMO_RETRAIN=1 trains again).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CONFIG=configs/winwin/winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py
WORK=${DEMO_WORK_DIR:-work_dirs/demo_flow}
CKPT=$WORK/iter_600.pth
TILE=${DEMO_TILE:-128}  # tile side in pixels for the tiling baseline
start=$(date +%s)

if [ -f "$CKPT" ] && [ "${DEMO_RETRAIN:-0}" != 1 ]; then
  echo "[demo-flow] reusing $CKPT (DEMO_RETRAIN=1 to train again)"
else
  echo "[demo-flow] training from scratch on flow-guided windows (600 iterations)"
  $PY tools/train.py "$CONFIG" --work-dir "$WORK"
fi
trained=$(date +%s)

evaluate() {  # NAME [tools/test.py options]: metrics line of the test run
  local name=$1; shift
  $PY tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/$name" "$@" \
    > "$WORK/$name.log" 2>&1 || { tail -n 30 "$WORK/$name.log"; exit 1; }
  grep -E "Iter\(test\) \[[0-9]+/[0-9]+\] +EPE" "$WORK/$name.log" | tail -n1
}
echo "[demo-flow] evaluating on whole frames, one forward pass per pair"
whole=$(evaluate test_whole --show-dir "$WORK/pictures")
echo "[demo-flow] evaluating with CroCo-Flow tiling (${TILE}x${TILE} tiles, overlap 0.9)"
tile=$(evaluate test_tile --cfg-options model.test_cfg.mode=tile \
  "model.test_cfg.crop_size=[$TILE,$TILE]" model.test_cfg.overlap=0.9)
end=$(date +%s)
# The baseline any flow model must beat: zero flow, by the same metric on
# the same pairs (the metric's own table goes to the work dir).
zero=$($PY tools/analysis/flow_probe.py zero "$CONFIG" > "$WORK/zero_flow.log" \
  2>&1 && sed -n 's/^zero flow metrics: //p' "$WORK/zero_flow.log") \
  || { tail -n 30 "$WORK/zero_flow.log"; exit 1; }

$PY - "$whole" "$tile" "$TILE" "$zero" <<'PY'
import json, re, sys
from winwin_mm.models.segmentors.flow_tiling import tile_offsets

def parse(line):
    return {k: float(v) for k, v in re.findall(r'([\w.+-]+): ([0-9.]+)', line)}

whole, tile, t = parse(sys.argv[1]), parse(sys.argv[2]), int(sys.argv[3])
zero = json.loads(sys.argv[4])
passes = len(tile_offsets(256, t, 0.9)) * len(tile_offsets(384, t, 0.9))
print('[demo-flow] ' + '=' * 66)
print(f"[demo-flow] {'':28s}{'EPE':>7s}{'>1px %':>8s}{'>3px %':>8s}"
      f"{'>5px %':>8s}{'s/pair':>8s}{'passes':>8s}")
for name, m, n in (('whole frame, one pass', whole, 1),
                   (f'tiling {t}x{t}, overlap 0.9', tile, passes)):
    print(f"[demo-flow] {name:28s}{m['EPE']:7.3f}{m['bad1']:8.2f}"
          f"{m['bad3']:8.2f}{m['bad5']:8.2f}{m['time']:8.3f}{n:8d}")
print(f"[demo-flow] {'zero flow (no model)':28s}{zero['EPE']:7.3f}"
      f"{zero['bad1']:8.2f}{zero['bad3']:8.2f}{zero['bad5']:8.2f}"
      f"{'-':>8s}{0:8d}")
PY
echo "[demo-flow] time: training + tuning $((trained - start)) s, evaluation $((end - trained)) s"
echo "[demo-flow] pictures (frame 1 | ground truth | prediction | EPE): $WORK/pictures/"
echo "[demo-flow] ================================================================"

# the video demo on a short generated clip (4 frames, 256x384) with the
# trained model: one output frame (frame | flow colour wheel) per pair
$PY - "$WORK/clip.avi" <<'PY'
import sys
import cv2
import numpy as np
from winwin_mm.datasets.generated.flow_scenes import render_sequence
frames = render_sequence(np.random.default_rng(7), 4, 256, 384)[0]
w = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*'MJPG'), 4,
                    (384, 256))
for f in frames:
    w.write(f)
w.release()
PY
$PY demo/video_flow_demo.py "$WORK/clip.avi" "$CONFIG" "$CKPT" \
  --out "$WORK/clip_flow.avi"
echo "[demo-flow] video demo (frame | flow): $WORK/clip_flow.avi"
