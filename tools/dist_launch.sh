#!/usr/bin/env bash
# What dist_train.sh and dist_test.sh share: torchrun on this machine.
#   bash tools/dist_launch.sh SCRIPT NUM_PROCS [SCRIPT args]
# NNODES/NODE_RANK/PORT/MASTER_ADDR select a multi-machine run.
set -euo pipefail
SCRIPT=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
HERE=$(dirname "$0")

PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$SCRIPT" "${@:3}" --launcher pytorch
