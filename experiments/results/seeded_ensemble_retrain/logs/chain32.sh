#!/usr/bin/env bash
# The bundled retrain of issue 31 in steps (what `python -m training all` runs), resuming r31's UNet
# and cross-fitted masks (same UNet recipe), each step on the newest commit of branch train32.
set -x
cd .
PY=.venv/bin/python
DATA="../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra"
ARGS="--data $DATA --run-dir runs/r32 --models runs/r32_models --report-dir runs/r32_reports"
step() { git checkout -q train32 && "$PY" -m training "$@" $ARGS; }
start=$(date +%s)
step train || exit 1
touch runs/TRAINED32
while [ ! -e runs/GO_EXPORT32 ]; do sleep 10; done
step export || exit 2
step evaluate || exit 3
step evaluate --split val || exit 4
step input-check || exit 5
echo "chain finished in $(( ($(date +%s) - start) / 60 )) min"
touch runs/EXPORTED32
