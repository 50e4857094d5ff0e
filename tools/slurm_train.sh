#!/usr/bin/env bash
# Training on a Slurm cluster:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
set -euo pipefail
HERE=$(dirname "$0")
bash "$HERE/slurm_launch.sh" "$1" "$2" "$HERE/train.py" "$3" --work-dir="$4" "${@:5}"
