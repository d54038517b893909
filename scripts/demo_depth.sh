#!/usr/bin/env bash
# Depth demo: Win-Win vs full-resolution training on generated rooms in the
# NYUv2 layout (exact depth), on 2 CPU cores (~12 min). Trains the Win-Win
# model (2 windows of 7x7 tokens per 320x240 image, 1200 iterations),
# evaluates it on whole images in one forward pass and with slide tiling,
# then trains the full-resolution baseline for about the same compute (400
# iterations on all tokens; DEMO_BASELINE=0 skips it) and prints a summary.
#
# Finished trainings are reused (DEMO_RETRAIN=1 trains again).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORK=${DEMO_WORK_DIR:-work_dirs/demo_depth}
CFG=configs/winwin
WINWIN=$CFG/winwin-depth_vit-t16-rope_1xb4-1200_synthetic-rooms-320x240.py
FULLRES=$CFG/fullres-depth_vit-t16-rope_1xb4-400_synthetic-rooms-320x240.py
SLIDE=(model.test_cfg.mode=slide 'model.test_cfg.crop_size=(112,112)'
       'model.test_cfg.stride=(64,64)')

train() {  # config work_dir iterations -> time spent ("reused" if so)
  local start
  start=$(date +%s)
  if [ -f "$2/iter_$3.pth" ] && [ "${DEMO_RETRAIN:-0}" != 1 ]; then
    echo "[demo] reusing $2/iter_$3.pth" >&2
    echo reused
    return
  fi
  echo "[demo] training $1" >&2
  $PY tools/train.py "$1" --work-dir "$2" > "$2.train.log" 2>&1 ||
    { tail -n 40 "$2.train.log" >&2; exit 1; }
  echo "$(($(date +%s) - start)) s"
}

evaluate() {  # config checkpoint log [cfg-options...] -> metrics line
  local config=$1 ckpt=$2 log=$3
  shift 3
  local opts=()
  if [ $# -gt 0 ]; then opts=(--cfg-options "$@"); fi
  $PY tools/test.py "$config" "$ckpt" --work-dir "$WORK/test" \
    "${opts[@]}" > "$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }
  grep -oE "Iter\(test\).*" "$log" | tail -n1 |
    grep -oE "(d1|abs_rel|rmse): [0-9.]+" | tr '\n' ' '
}

mkdir -p "$WORK"
t_win=$(train "$WINWIN" "$WORK/winwin" 1200)
win_whole=$(evaluate "$WINWIN" "$WORK/winwin/iter_1200.pth" \
  "$WORK/winwin.test.log")
win_slide=$(evaluate "$WINWIN" "$WORK/winwin/iter_1200.pth" \
  "$WORK/winwin.slide.log" "${SLIDE[@]}")
temp=$(grep -oE "best multiplier [0-9.]+" "$WORK/winwin.train.log" \
  2>/dev/null | tail -n1 || true)
if [ "${DEMO_BASELINE:-1}" != 0 ]; then
  t_full=$(train "$FULLRES" "$WORK/fullres" 400)
  full_whole=$(evaluate "$FULLRES" "$WORK/fullres/iter_400.pth" \
    "$WORK/fullres.test.log")
fi

echo
echo "[demo] ============ depth on 50 generated test rooms ============"
echo "[demo] Win-Win (2 x 7x7 of 20x15 tokens), whole image: $win_whole"
echo "[demo] Win-Win, slide tiling 112x112 / 64:            $win_slide"
echo "[demo] Win-Win temperature: ${temp:-see $WORK/winwin/temperature}"
if [ "${DEMO_BASELINE:-1}" != 0 ]; then
  echo "[demo] full-resolution training, whole image:       $full_whole"
  echo "[demo] training time: Win-Win ${t_win}, full-res ${t_full}"
fi
echo "[demo] ==========================================================="
