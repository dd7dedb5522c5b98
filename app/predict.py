"""Batch CLI: `python -m app.predict [--models DIR] [--masks-dir DIR] IMAGE...`.

Prints one JSON object per input on stdout, `{"file", "label", "probabilities", "input_check"}`
(`input_check`: `{"score", "verdict"}`, verdict "accepted" or "unfamiliar": the latter is
answered, but the scan looks unlike those the model learnt from, so the result is less
reliable), or `{"file", "error"}` for an input it cannot read or that the input check refuses
(not a breast-ultrasound image; then with `input_check` too, and not scored). It goes on with
the rest. With
`--masks-dir`, writes each predicted mask as `<stem>_pred.png` (0/255, input size).
Runs the inference core alone: no Flask, geopy or zipcodes is imported.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from inference.input_check import InputCheck
from inference.paths import MODELS_DIR
from inference.pipeline import Pipeline
from inference.preprocessing import to_gray_array

NOT_ULTRASOUND = "not_ultrasound: this does not look like a breast ultrasound image; not analysed"


def predict_file(pipeline: Pipeline, check: InputCheck, path: Path, masks_dir: Path | None) -> dict:
    """One input's JSON record; read errors and refusals become an `error` field, not an exception."""
    try:
        with Image.open(path) as image:
            gray = to_gray_array(image)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        return {"file": str(path), "error": f"cannot read image: {exc.__class__.__name__}: {exc}"}
    verdict = check.check_gray(gray)
    if verdict.refused:
        return {"file": str(path), "error": NOT_ULTRASOUND, "input_check": verdict.as_json()}
    prediction = pipeline.predict_gray(gray)
    if masks_dir is not None:
        Image.fromarray(prediction.mask.astype("uint8") * 255).save(masks_dir / f"{path.stem}_pred.png")
    return {"file": str(path), "label": prediction.label, "probabilities": prediction.probabilities,
            "input_check": verdict.as_json()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.predict", description=__doc__.split("\n")[0])
    parser.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    parser.add_argument("--models", type=Path, default=MODELS_DIR, help="folder with the models")
    parser.add_argument("--masks-dir", type=Path, help="write predicted masks here")
    args = parser.parse_args(argv)
    if args.masks_dir:
        args.masks_dir.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline.load(args.models)
    check = InputCheck.load(args.models, threads=pipeline.settings.threads)
    failures = 0
    for done, path in enumerate(args.images, 1):
        record = predict_file(pipeline, check, path, args.masks_dir)
        failures += "error" in record
        print(json.dumps(record), flush=True)
        if len(args.images) >= 10 and (done % 10 == 0 or done == len(args.images)):
            print(f"{done}/{len(args.images)} images", file=sys.stderr, flush=True)
    return 1 if failures == len(args.images) else 0


if __name__ == "__main__":
    sys.exit(main())
