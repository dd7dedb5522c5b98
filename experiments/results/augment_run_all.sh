#!/bin/bash
# Each scanner augmentation toggled against the bundled classifier recipe (which leaves out
# gamma, speckle and blur): raw scans, trained on BUSI alone, scored on both validation splits.
declare -A LEAVE=(
  [no_brightness_contrast]="gamma speckle blur brightness_contrast"
  [no_affine]="gamma speckle blur affine"
  [with_gamma]="speckle blur"
  [with_speckle]="gamma blur"
  [with_blur]="gamma speckle"
)
for seed in "$@"; do
  for name in no_brightness_contrast no_affine with_gamma with_speckle with_blur; do
    out=runs/recipes/aug/${name}_s${seed}
    [ -f $out/results.json ] && continue
    echo "=== $name seed $seed $(date +%T)"
    .venv/bin/python -m experiments.classifier_recipe --data ../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra \
      --kind raw --train-on busi --leave-out ${LEAVE[$name]} --seeds $seed --out $out
  done
done
