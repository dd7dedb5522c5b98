"""Command line: `python -m training {split,train,export,evaluate,all,input-check} ...`.

Each subcommand imports what it needs when it runs, so `--help` works without TensorFlow.
The functions here turn arguments into typed calls; the library code never sees them.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from inference.paths import MODELS_DIR, REPO_ROOT, SPLIT_MANIFEST
from training.run import CLASSIFIER_EPOCHS, SEED, UNET_EPOCHS

DATASET = "BUSI (Al-Dhabyani et al., 2020), development copy"


def cmd_split(args):
    """Group near-duplicates and split them into train/val/test (writes the manifest)."""
    from training import data

    manifest = data.build_manifest(args.data, args.seed, args.known_groups)
    Path(args.manifest).write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest["counts"], indent=1))
    print("manifest sha256:", data.manifest_hash(manifest))


def cmd_train(args):
    """Train the UNet, then the classifier (and optionally the raw-image baseline); resumable."""
    from inference.settings import InferenceSettings
    from training import data, models, train
    from training.run import TrainingRun

    manifest = json.loads(Path(args.manifest).read_text())
    run = TrainingRun(
        settings=InferenceSettings(weights=args.weights),
        data={"dataset": DATASET, "counts": manifest["counts"], "manifest_sha256": data.manifest_hash(manifest),
              "seed": manifest["seed"]},
        seed=args.seed,
        epochs={"unet": args.unet_epochs, **{stage: args.classifier_epochs for stage in args.stages}},
        recipe=models.recipe())
    train.train_models(run, Path(args.run_dir), Path(args.data), manifest, args.stages)


def cmd_export(args):
    """Convert the best checkpoints to LiteRT, calibrate on validation, write the model card."""
    from training import export

    export.export_models(Path(args.run_dir), Path(args.models), Path(args.data),
                         json.loads(Path(args.manifest).read_text()))


def cmd_evaluate(args):
    """Score the exported models on a held-out split and write the report with plots."""
    from training import evaluate

    evaluate.write_report(args.data, json.loads(Path(args.manifest).read_text()), Path(args.models),
                          Path(args.run_dir), Path(args.report_dir), split=args.split)


def cmd_input_check(args):
    """Fit the learned input check on every source's training scans; writes its card section (run after export)."""
    from training import input_check

    input_check.fit_input_check(Path(args.models), float16=not args.float32)


def cmd_all(args):
    """split (if no manifest yet), train, export and evaluate in one go."""
    start = time.time()
    if not Path(args.manifest).exists():
        cmd_split(args)
    cmd_train(args)
    cmd_export(args)
    cmd_evaluate(args)
    cmd_input_check(args)
    print(f"full retrain finished in {(time.time() - start) / 60:.1f} min")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", required=True, help="BUSI root (Dataset_BUSI_with_GT, Kaggle layout)")
    common.add_argument("--manifest", default=str(SPLIT_MANIFEST), help="split manifest JSON")
    common.add_argument("--run-dir", default=str(REPO_ROOT / "runs"), help="checkpoints, logs and run.json")
    common.add_argument("--models", default=str(MODELS_DIR), help="where exported models go")
    common.add_argument("--report-dir", default=str(REPO_ROOT / "reports"), help="evaluation report folder")
    common.add_argument("--seed", type=int, default=SEED)
    common.add_argument("--known-groups", default=None,
                        help="optional JSON list of extra duplicate groups to keep together")
    common.add_argument("--weights", choices=["none", "imagenet"], default="none",
                        help="classifier backbone start (imagenet needs a download)")
    common.add_argument("--unet-epochs", type=int, default=UNET_EPOCHS)
    common.add_argument("--classifier-epochs", type=int, default=CLASSIFIER_EPOCHS)
    common.add_argument("--stages", nargs="+", default=["classifier"], choices=["classifier", "baseline"],
                        help="classifiers to train after the UNet")
    common.add_argument("--split", default="test", choices=["val", "test"], help="split to evaluate")
    common.add_argument("--float32", action="store_true", help="input-check: float32 feature model (default float16)")
    for name, func in [("split", cmd_split), ("train", cmd_train), ("export", cmd_export),
                       ("evaluate", cmd_evaluate), ("all", cmd_all), ("input-check", cmd_input_check)]:
        sub.add_parser(name, parents=[common], help=func.__doc__, description=func.__doc__).set_defaults(func=func)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
