#!/usr/bin/env bash
# Create (or reuse) the project environment in .venv/.
#
# Idempotent: every step first checks whether its result is already there.
# mmcv 2.1.0 has no wheel for this torch, so it is compiled from the sdist once
# (about 16 minutes on 2 cores) and the wheel is kept in $WINWIN_WHEEL_CACHE
# (default ~/.cache/winwin_mm/wheels), outside the clone, for every later setup.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)
CACHE="${WINWIN_WHEEL_CACHE:-$HOME/.cache/winwin_mm/wheels}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

TORCH_VER=2.14.1
TV_VER=0.29.1
MMCV_VER=2.1.0
MMCV_SHA256=d387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f

log() { echo "[setup] $*"; }

# A stamp records the inputs of the last complete setup; a match means nothing to do.
STAMP="$VENV/.winwin_setup"
STAMP_VALUE="torch=$TORCH_VER tv=$TV_VER mmcv=$MMCV_VER $(cat "$ROOT/requirements.txt" "$ROOT/setup.py" | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VALUE" ] && "$PY" -c "import winwin_mm" 2>/dev/null; then
  log "environment up to date ($VENV)"
  exit 0
fi

if [ ! -x "$PY" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

if ! "$PY" -c "import torch, torchvision, sys; sys.exit(not (torch.__version__.startswith('$TORCH_VER') and torchvision.__version__.startswith('$TV_VER')))" 2>/dev/null; then
  log "installing torch $TORCH_VER + torchvision $TV_VER"
  "${PIP[@]}" install "torch==$TORCH_VER" "torchvision==$TV_VER"
fi

# Build tools for mmcv: setuptools must still ship pkg_resources (< 81).
"${PIP[@]}" install "setuptools>=70,<81" wheel ninja

log "installing OpenMMLab packages"
"${PIP[@]}" install -r "$ROOT/requirements.txt"

mmcv_ok() {
  "$PY" - <<'PY' 2>/dev/null
import mmcv, sys
from mmcv.ops import nms  # noqa: F401  (compiled ops must load)
sys.exit(mmcv.__version__ != "2.1.0")
PY
}

if ! mmcv_ok; then
  mkdir -p "$CACHE"
  WHEEL="$(ls "$CACHE"/mmcv-$MMCV_VER-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$WHEEL" ]; then
    log "building mmcv $MMCV_VER with its ops (CPU; ~16 min on 2 cores, done once, cached in $CACHE)"
    BUILD="$(mktemp -d)"
    trap 'rm -rf "$BUILD"' EXIT
    # pip itself fetches the sdist, so the user's pip configuration (index,
    # mirrors, proxies, offline wheelhouses) applies; the checksum pins the bytes.
    "$PY" -m pip --disable-pip-version-check download -q --no-binary :all: --no-deps \
      --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VER"
    SDIST="$BUILD/mmcv-$MMCV_VER.tar.gz"
    [ -f "$SDIST" ] || { echo "[setup] ERROR: pip download did not produce $SDIST; check your pip index configuration" >&2; exit 1; }
    echo "$MMCV_SHA256  $SDIST" | sha256sum -c --quiet || { echo "[setup] ERROR: checksum mismatch for $SDIST (expected $MMCV_SHA256)" >&2; exit 1; }
    tar -xzf "$SDIST" -C "$BUILD"
    # torch >= 2.14 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VER/setup.py"
    (cd "$BUILD/mmcv-$MMCV_VER" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="$(nproc)" \
      "$PY" -m pip --disable-pip-version-check wheel --no-build-isolation --no-deps -w "$CACHE" . )
    WHEEL="$(ls "$CACHE"/mmcv-$MMCV_VER-*.whl | head -n1)"
  else
    log "reusing cached mmcv wheel $WHEEL"
  fi
  # --no-deps so that pip cannot swap torch; mmcv's own runtime
  # dependencies came with requirements.txt above.
  "${PIP[@]}" install --no-deps "$WHEEL"
fi

# --no-deps: setup.py declares compatible ranges (torch among them); the
# exact set is already installed, and pip must not resolve torch itself.
log "installing the project (editable)"
"${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT"
mmcv_ok || { echo "[setup] ERROR: mmcv $MMCV_VER with ops does not import" >&2; exit 1; }
# Every installed package's declared requirements (winwin_mm's included) hold.
if ! CHECK="$("$PY" -m pip --disable-pip-version-check check 2>&1)"; then
  echo "$CHECK" >&2
  echo "[setup] ERROR: pip check found the conflicts above; fix requirements.txt or setup.py" >&2
  exit 1
fi
"$PY" -c "import mmseg, mmpretrain, winwin_mm; print('[setup] mmseg', mmseg.__version__, '| mmpretrain', mmpretrain.__version__)"
echo "$STAMP_VALUE" > "$STAMP"
log "done"
