"""Record what the served app answers on real BUSI validation scans, for the behaviour tests.

    .venv/bin/python -m scripts.record_fixtures outputs
    .venv/bin/python -m scripts.record_fixtures pinned

`outputs` writes tests/fixtures/served_outputs.json: the exact answers (label, probabilities,
mask checksum) of the bundled models on two scans per class plus, when validation has
one, a scan flagged malignant although another class is more likely. It is tied to the
models' version: re-record it whenever the bundled models change (and only then).

`pinned` writes tests/fixtures/pinned_labels.json: the two clearest cases per class (right, and
at least CLEAR_PROBABILITY sure), whose labels any retrained model should keep. Re-pick them only
when a deliberate model change loses one, and say so in the commit.

Both go through the JSON API, so they record what a patient would be told.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from app import create_app
from inference.paths import BUSI_DIR, MANIFEST_DIR, REPO_ROOT

OUTPUTS = REPO_ROOT / "tests" / "fixtures" / "served_outputs.json"
PINNED = REPO_ROOT / "tests" / "fixtures" / "pinned_labels.json"
PER_CLASS = 2
CLEAR_PROBABILITY = 0.8  # the bundled models reach 0.85-0.94 on their clearest validation scans
PINNED_TOLERANCE = 0.3  # a retrained model may be less sure of a clear case, not wrong about it


def mask_sha256(mask_png_base64: str) -> str:
    """Checksum of the mask's pixels (not of the PNG bytes, which depend on the encoder)."""
    with Image.open(io.BytesIO(base64.b64decode(mask_png_base64))) as image:
        mask = np.asarray(image) > 0
    return hashlib.sha256(np.asarray(mask.shape).tobytes() + np.packbits(mask).tobytes()).hexdigest()


def served_answers(client, data: Path, keys: list[str]) -> dict[str, dict]:
    """The API's answer (through a Flask test `client`) for each scan key (`class/name.png` under `data`)."""
    answers = {}
    for key in keys:
        response = client.post("/api/v1/predict", data={"image": (io.BytesIO((data / key).read_bytes()), "scan.png")},
                               content_type="multipart/form-data")
        body = response.get_json()
        if response.status_code != 200:
            raise SystemExit(f"{key}: {response.status_code} {body}")
        answers[key] = body
    return answers


def validation_answers(data: Path) -> dict[str, dict]:
    """The bundled models' answers on every validation scan."""
    client = create_app({"TESTING": True, "SECRET_KEY": "fixtures"}).test_client()
    manifest = json.loads((MANIFEST_DIR / "split_manifest_busi.json").read_text())
    keys = [row["key"] for row in manifest["images"] if row["split"] == "val"]
    return served_answers(client, data, keys)


def record_outputs(data: Path) -> dict:
    answers = validation_answers(data)
    chosen = [key for label in ("benign", "malignant", "normal")
              for key in [k for k in answers if k.startswith(f"{label}/")][:PER_CLASS]]
    flagged = [k for k, a in answers.items()
               if a["label"] == "malignant" and max(a["probabilities"], key=a["probabilities"].get) != "malignant"]
    if not set(flagged) & set(chosen):
        chosen += flagged[:1]
    return {"models_version": answers[chosen[0]]["model"]["version"],
            "recorded_with": "python -m scripts.record_fixtures outputs",
            "scans": [{"key": k, "label": answers[k]["label"], "probabilities": answers[k]["probabilities"],
                       "mask_sha256": mask_sha256(answers[k]["mask_png"])} for k in chosen]}


def record_pinned(data: Path) -> dict:
    answers = validation_answers(data)
    pinned = []
    for label in ("benign", "malignant", "normal"):
        clear = sorted(((a["probabilities"][label], k) for k, a in answers.items()
                        if k.startswith(f"{label}/") and a["label"] == label
                        and a["probabilities"][label] >= CLEAR_PROBABILITY), reverse=True)
        pinned += [{"key": k, "label": label, "probability": round(p, 4)} for p, k in clear[:PER_CLASS]]
    return {"models_version_when_picked": answers[pinned[0]["key"]]["model"]["version"],
            "recorded_with": "python -m scripts.record_fixtures pinned", "tolerance": PINNED_TOLERANCE, "scans": pinned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["outputs", "pinned"])
    parser.add_argument("--data", type=Path, default=BUSI_DIR, help="BUSI root (Dataset_BUSI_with_GT)")
    args = parser.parse_args()
    record, path = (record_outputs, OUTPUTS) if args.what == "outputs" else (record_pinned, PINNED)
    path.write_text(json.dumps(record(args.data), indent=1) + "\n")
    print(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
