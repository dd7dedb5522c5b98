#!/usr/bin/env bash
# chain32.sh's steps after training (the session that ran it ended while it waited to export).
set -x
cd .
PY=.venv/bin/python
DATA="../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra"
ARGS="--data $DATA --run-dir runs/r32 --models runs/r32_models --report-dir runs/r32_reports"
step() { git checkout -q train32 && "$PY" -m training "$@" $ARGS; }
start=$(date +%s)
step export || exit 2
step evaluate || exit 3
step evaluate --split val || exit 4
step input-check || exit 5
echo "chain finished in $(( ($(date +%s) - start) / 60 )) min"
touch runs/EXPORTED32
