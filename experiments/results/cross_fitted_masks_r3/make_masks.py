"""Cross-fitted training masks as the bundled run made them (same settings, seed and fold
epochs), without retraining the served UNet: validation masks come from models/unet.tflite.

    .venv/bin/python -m experiments.results.cross_fitted_masks_r3.make_masks [runs/r3_folds]
"""
import sys
from dataclasses import replace
from pathlib import Path

from training.run import TrainingRun
from training.sources import Source, load_split_data
from training.train import cross_fitted_masks

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/r3_folds")
run = replace(TrainingRun.load(Path("reports/training_logs")), wall_time_minutes={})
sources = [Source.open(p) for p in ("../shared/data/busi/Dataset_BUSI_with_GT", "../shared/data/busbra")]
train, val = (load_split_data(sources, split, run.settings.square_size) for split in ("train", "val"))
masks = cross_fitted_masks(run, out, train, val)
print("masks", masks.shape, "lesion share", masks.reshape(len(masks), -1).any(1).mean())
