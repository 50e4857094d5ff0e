#!/usr/bin/env bash
# Runs ON a lent GPU machine, from the repository root, after tools/misc/gpu_prepare.sh
# filled .whl/ here: installs those wheels beside the machine's own torch, checks that
# mmcv's CUDA ops run, then, most important first, each step under its own time limit:
#   1. the tests marked `device` (CUDA-only tests; training, AMP fp16, resume and export
#      on the GPU through tools/train.py)            -> $OUT/device_tests.txt
#   2. the students' speed at 640x480 and 1500x1000  -> $OUT/speed.txt, speed.json
#   3. the mimic overhead of a training step          -> $OUT/overhead.txt, overhead.json
#   4. the rest of the suite, on the GPU machine      -> $OUT/suite.txt
# The machine, the versions and the ops check go to $OUT/machine.txt.
#
# The same script runs on a CPU machine as a dry run of everything but CUDA:
#   DEVICE=cpu QUICK=1 PY=/path/to/python3.12 bash tools/misc/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
SITE=$(mktemp -d)
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" .whl/*.whl || exit 1
export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}
# mmmimic as an installed distribution with its .mim folder, which `mim` looks for (the
# machine is given back afterwards; nothing is fetched)
# (as tools/install.sh does: openmim 0.3.9 looks for <dist location>/mmmimic/.mim)
if "$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e . \
        >"$OUT/install.log" 2>&1; then
    purelib=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    [ -e "$purelib/mmmimic" ] || ln -s "$PWD/mmmimic" "$purelib/mmmimic"
else
    echo "editable install failed (the mim tests will fail): $(tail -n 3 "$OUT/install.log")"
fi
rm -f "$OUT/install.log"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONWARNINGS=ignore::DeprecationWarning
quick=()
[ -n "${QUICK:-}" ] && quick=(--quick)
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        2>/dev/null || echo "no nvidia-smi"
    "$PY" - "$DEVICE" <<'EOF'
import sys

import mmcv
import numpy
import torch
from mmcv.ops import nms, roi_align

device = sys.argv[1]
print('python', sys.version.split()[0], 'torch', torch.__version__, 'numpy',
      numpy.__version__, 'mmcv', mmcv.__version__, 'device', device)
x = torch.randn(1, 8, 32, 32, device=device)
r = torch.tensor([[0, 1., 1., 20., 20.]], device=device)
print('roi_align', tuple(roi_align(x, r, 7).shape))
b = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10.]], device=device)
print('nms keeps', nms(b, torch.tensor([.9, .8], device=device), 0.5)[1].tolist())
import mmmimic  # noqa: E402,F401  (its dependency check)
print('mmmimic imports')
EOF
} 2>&1 | tee "$OUT/machine.txt"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "the machine check failed"; exit 1; }

step() {  # step NAME SECONDS COMMAND...: output to $OUT/NAME.txt, its tail here
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s): $*"
    timeout "$limit" "$@" >"$OUT/$name.txt" 2>&1
    local status=$?
    tail -n 25 "$OUT/$name.txt"
    echo "== $name: exit $status after ${SECONDS}s in all" | tee -a "$OUT/$name.txt"
}
# The device tool stops a command after 600 s: the steps' limits fit in that, and the
# last step gets what is left (SUITE_LIMIT overrides it, e.g. for the dry run on CPU).
xdist4=() xdist8=()
if "$PY" -c 'import xdist' 2>/dev/null; then xdist4=(-n 4) xdist8=(-n 8); fi
step device_tests 240 "$PY" -m pytest -q -rA -p no:cacheprovider "${xdist4[@]}" \
    -m device tests
step speed 90 "$PY" benchmarks/student_speed.py --device "$DEVICE" --repeats 20 \
    --json "$OUT/speed.json" "${quick[@]}"
step overhead 90 "$PY" benchmarks/mimic_overhead.py --device "$DEVICE" --rounds 10 \
    --json "$OUT/overhead.json" "${quick[@]}"
left=$((570 - SECONDS))
step suite "${SUITE_LIMIT:-$((left > 30 ? left : 30))}" "$PY" -m pytest -q \
    -p no:cacheprovider "${xdist8[@]}" -m "not device" tests
