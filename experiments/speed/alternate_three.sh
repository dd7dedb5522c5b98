#!/bin/bash
# Alternating serve benchmark behind the "Serve benchmark" table of docs/serving.md (logs: alternate_three_2026-12-02_a.log, the same steps run by hand, and _b.log, this script):
# the bundled models (mirror pass near a decision boundary only), the same models with the mirror pass
# on every scan (their card's mirror_margin set to 1.0), and the EfficientNetB3 models bundled when the
# speed target was set (commit e397fed, run with that commit's own app code).
# Run from the repository root, with nothing else running: bash experiments/speed/alternate_three.sh
set -e
ROOT=$PWD
WORK=$(mktemp -d)
git worktree add -q -f "$WORK/b3" e397fed
ln -s "$ROOT/.venv" "$WORK/b3/.venv"
ln -s "$(realpath ../shared)" "$WORK/shared"   # the B3 tree finds the data at ../shared too
cp -r models "$WORK/models_always"
.venv/bin/python -c "import json, sys; p = sys.argv[1]; c = json.load(open(p)); c['inference']['mirror_margin'] = 1.0; json.dump(c, open(p, 'w'), indent=1)" "$WORK/models_always/model_card.json"
bench() { .venv/bin/python -m benchmarks.bench_server --concurrency 1 4 --runs 1 2>&1; }
for i in 1 2 3 4 5 6; do
  echo "=== run $i margin $(date +%T)"; bench
  echo "=== run $i always $(date +%T)"; BUSI_MODELS_DIR="$WORK/models_always" bench
  echo "=== run $i b3 $(date +%T)"; (cd "$WORK/b3" && bench)
done
git worktree remove --force "$WORK/b3"
rm -rf "$WORK"
echo DONE
