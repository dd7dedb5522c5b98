"""Batch CLI: `python -m inference.predict [options] FILE_OR_FOLDER...`: score scans with the web app's checks.

Prints one JSON object per input on stdout, in input order (fields in docs/api.md, "Batch
CLI"); a progress bar and notes go to stderr. Exit code 0: every input was scored;
1: at least one failed (all the others were still scored); 2: nothing could be scored
(bad arguments, no input found, every input failed, models that do not load).
Runs the inference core alone: no Flask, geopy or zipcodes is imported.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from inference.batch import MaskWriter, Models, Outcome, find_inputs, score_all
from inference.paths import MODELS_DIR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m inference.predict",
        description="Score breast-ultrasound scans with the web app's input checks: one JSON line per input "
                    "on stdout, in input order; progress and notes on stderr.",
        epilog="Exit code 0: every input scored; 1: at least one failed (the others were still scored); "
               "2: nothing could be scored.")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_FOLDER",
                        help="scans (PNG, JPEG, BMP, TIFF, WebP, DICOM) or folders, searched recursively")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="inside folders, leave out files and subfolders whose name or relative path "
                             "matches GLOB, e.g. '*_mask*.png' (repeatable)")
    parser.add_argument("--masks-dir", type=Path, metavar="DIR",
                        help="write each predicted mask here as <stem>_pred.png (0/255, input size); "
                             "no file is ever overwritten")
    parser.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                        help="score in N processes, each loading the models once (default 1)")
    parser.add_argument("--models", type=Path, default=MODELS_DIR, metavar="DIR", help="folder with the models")
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    inputs = find_inputs(args.inputs, args.exclude, skip=args.masks_dir)
    if not inputs:
        print("No input files found.", file=sys.stderr)
        return 2
    try:
        models = Models.load(args.models)
    except Exception as error:  # noqa: BLE001 - any reason, reported plainly
        print(f"Cannot load the models from {args.models}: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 2
    writer = None
    if args.masks_dir is not None:
        args.masks_dir.mkdir(parents=True, exist_ok=True)
        writer = MaskWriter(args.masks_dir)
    failed = 0
    # disable=None: the bar shows only when stderr is a terminal, not in logs.
    with tqdm(total=len(inputs), unit="scan", file=sys.stderr, disable=None) as progress:
        for path, outcome in zip(inputs, score_all(inputs, models, args.models, args.workers), strict=True):
            record = _with_mask(outcome, path, writer)
            failed += "error" in record
            if "error" in record:
                tqdm.write(f"{path}: failed ({record['error']['code']})", file=sys.stderr)
            elif "mask_note" in record:
                tqdm.write(f"{path}: {record['mask_note']}", file=sys.stderr)
            tqdm.write(json.dumps(record), file=sys.stdout)
            sys.stdout.flush()
            progress.update()
    print(f"{len(inputs) - failed} of {len(inputs)} inputs scored, {failed} failed.", file=sys.stderr)
    return 2 if failed == len(inputs) else 1 if failed else 0


def _with_mask(outcome: Outcome, path: Path, writer: MaskWriter | None) -> dict:
    """The record, with the mask written and its path (or why it could not be) added."""
    record = outcome.record
    if writer is None or outcome.mask_png is None:
        return record
    try:
        mask_path, note = writer.write(path, outcome.mask_png)
    except OSError as error:
        return {**record, "mask": None, "error": {"code": "mask_not_written",
                                                  "message": f"The mask cannot be written: {error.strerror}."}}
    return {**record, "mask": str(mask_path), **({"mask_note": note} if note else {})}


if __name__ == "__main__":
    sys.exit(main())
