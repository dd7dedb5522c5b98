"""Batch CLI: `python -m app.predict [--models DIR] [--masks-dir DIR] IMAGE...`.

Prints one JSON object per input on stdout, `{"file", "label", "most_likely",
"malignant_flagged", "probabilities"}` (as the API reports them) or
`{"file", "error"}` for an input it cannot read (and goes on with the rest). With
`--masks-dir`, writes each predicted mask as `<stem>_pred.png` (0/255, input size).
Runs the inference core alone: no Flask, geopy or zipcodes is imported.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from inference.paths import MODELS_DIR
from inference.pipeline import Pipeline


def predict_file(pipeline: Pipeline, path: Path, masks_dir: Path | None) -> dict:
    """One input's JSON record; read errors become an `error` field, not an exception."""
    try:
        with Image.open(path) as image:
            prediction = pipeline.predict(image)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        return {"file": str(path), "error": f"cannot read image: {exc.__class__.__name__}: {exc}"}
    if masks_dir is not None:
        Image.fromarray(prediction.mask.astype("uint8") * 255).save(masks_dir / f"{path.stem}_pred.png")
    return {"file": str(path), "label": prediction.label, "most_likely": prediction.decision.most_probable,
            "malignant_flagged": prediction.decision.malignant_flagged, "probabilities": prediction.probabilities}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.predict", description=__doc__.split("\n")[0])
    parser.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    parser.add_argument("--models", type=Path, default=MODELS_DIR, help="folder with the models")
    parser.add_argument("--masks-dir", type=Path, help="write predicted masks here")
    args = parser.parse_args(argv)
    if args.masks_dir:
        args.masks_dir.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline.load(args.models)
    failures = 0
    for done, path in enumerate(args.images, 1):
        record = predict_file(pipeline, path, args.masks_dir)
        failures += "error" in record
        print(json.dumps(record), flush=True)
        if len(args.images) >= 10 and (done % 10 == 0 or done == len(args.images)):
            print(f"{done}/{len(args.images)} images", file=sys.stderr, flush=True)
    return 1 if failures == len(args.images) else 0


if __name__ == "__main__":
    sys.exit(main())
