#!/usr/bin/env bash
# Distributed training on one machine: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# NNODES/NODE_RANK/PORT/MASTER_ADDR select a multi-machine run. Without CUDA,
# train.py switches the nccl backend to gloo.
set -euo pipefail
HERE=$(dirname "$0")
bash "$HERE/dist_launch.sh" "$HERE/train.py" "$2" "$1" "${@:3}"
