#!/usr/bin/env bash
# Distributed testing: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args]
set -euo pipefail
HERE=$(dirname "$0")
bash "$HERE/dist_launch.sh" "$HERE/test.py" "$3" "$1" "$2" "${@:4}"
