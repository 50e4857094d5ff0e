#!/usr/bin/env bash
# Testing on a Slurm cluster:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
set -euo pipefail
HERE=$(dirname "$0")
bash "$HERE/slurm_launch.sh" "$1" "$2" "$HERE/test.py" "$3" "$4" "${@:5}"
