#!/usr/bin/env bash
# Issue 31 item 5: fine-tuning with the backbone's batch-norm statistics frozen (the recipe) vs trained,
# raw-scan classifier learnt from BUSI only, BUS-BRA left out; seeds alternate between the arms.
set -uo pipefail
cd "$(dirname "$0")/../../.."  # the repository root
for seed in 1 2 3; do
  for arm in frozen trained; do
    out=runs/bn/${arm}_s${seed}
    [ -f $out/results.json ] && continue
    extra=(); [ $arm = trained ] && extra=(--train-batch-norms)
    echo "== $arm seed $seed $(date -u +%H:%M:%S)"
    .venv/bin/python -m experiments.classifier_recipe --data ../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra \
      --kind raw --train-on busi --seeds $seed --out $out "${extra[@]}"
    rc=$?
    echo "== done $arm seed $seed $(date -u +%H:%M:%S) rc=$rc"
  done
done
here=experiments/results/batch_norms_trained
for arm in frozen trained; do
  .venv/bin/python -m experiments.recipe_table merge $here/$arm runs/bn/${arm}_s{1,2,3}
done
.venv/bin/python -m experiments.recipe_table table frozen=$here/frozen trained=$here/trained
