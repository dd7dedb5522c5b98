#!/usr/bin/env bash
# Waits for the UNet/fold run, then trains the classifier stages, exports, evaluates and fits the input check,
# each step on the newest commit of the `models` branch.
set -x
while kill -0 2352 2>/dev/null; do sleep 10; done
cd .
PY=.venv/bin/python
DATA="../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra"
ARGS="--data $DATA --run-dir runs/r31 --models runs/r31_models --report-dir runs/r31_reports"
step() { git checkout -q --detach models && "$PY" -m training "$@" $ARGS; }
mkdir -p runs/r31_models && cp models/model_card.json runs/r31_models/ 
step train --stages classifier classifier_busi_only || exit 1
touch runs/TRAINED
while [ ! -e runs/GO_EXPORT ]; do sleep 10; done
step export || exit 2
step evaluate || exit 3
step evaluate --split val || exit 4
step input-check || exit 5
touch runs/EXPORTED
