"""The batch CLI, `python -m inference.predict`: the web app's checks, folders, masks, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.batch import MaskWriter, find_inputs
from inference.paths import MODELS_DIR, REPO_ROOT
from inference.pipeline import CAVEATS, Pipeline
from inference.predict import main
from tests.helpers import FIXTURES, SCANS
from tests.helpers.dicom_files import PATIENT_SECRETS, dicom_bytes, gray_of
from tests.helpers.uploads import BAD_UPLOADS, encode, photo

MODEL_VERSION = json.loads((MODELS_DIR / "model_card.json").read_text())["version"]
RESULT_FIELDS = {"file", "model", "label", "most_likely", "malignant_flagged", "uncertain", "caveats", "probabilities",
                 "input_check"}


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference.predict", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def records_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def short(file: str, tmp_path: Path) -> str:
    """A record's file as a name the test can spell: relative to tmp_path, else the bare name."""
    path = Path(file)
    return path.relative_to(tmp_path).as_posix() if path.is_relative_to(tmp_path) else path.name


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def messy_folder(tmp_path) -> Path:
    """Scans and every kind of trouble the issue names, in one folder with a subfolder."""
    folder = tmp_path / "scans"
    scan = Image.open(SCANS["benign"]).convert("L")
    for fmt, suffix in (("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif")):  # clashing stems
        write(folder / f"scan.{suffix}", encode(scan, fmt))
    write(folder / "broken.png", SCANS["normal"].read_bytes()[:4000])  # truncated
    write(folder / "sub" / "tiny.png", encode(scan.resize((50, 40))))
    write(folder / "sub" / "photo.jpg", encode(photo("china.jpg"), "JPEG"))
    write(folder / "sub" / "malignant.png", SCANS["malignant"].read_bytes())
    return folder


def test_a_messy_folder_exits_1_writes_every_other_result_and_overwrites_nothing(messy_folder, tmp_path):
    masks = tmp_path / "masks"
    earlier = write(masks / "scan_pred.png", b"an earlier run's mask")
    result = run_cli(messy_folder, FIXTURES, "--exclude", "*.json", "--exclude", "*.npz", "--masks-dir", masks)
    assert result.returncode == 1, result.stderr
    records = {short(r["file"], tmp_path): r for r in records_of(result.stdout)}
    assert list(records) == ["scans/broken.png", "scans/scan.bmp", "scans/scan.png", "scans/scan.tif",
                             "scans/sub/malignant.png", "scans/sub/photo.jpg", "scans/sub/tiny.png",
                             "benign_51.png", "benign_6_colour_marks.png", "malignant_137.png", "normal_50.png"]
    errors = {name: r["error"]["code"] for name, r in records.items() if "error" in r}
    assert errors == {"scans/broken.png": "unreadable_image", "scans/sub/photo.jpg": "not_ultrasound",
                      "scans/sub/tiny.png": "image_too_small"}
    assert earlier.read_bytes() == b"an earlier run's mask"
    scored = [r for r in records.values() if "error" not in r]
    assert len({r["mask"] for r in scored}) == len(scored) == 8
    for record in scored:
        assert set(record) - {"mask", "mask_note"} == RESULT_FIELDS
        assert record["model"] == {"version": MODEL_VERSION}
        assert record["uncertain"] == bool(record["caveats"]) and set(record["caveats"]) <= set(CAVEATS)
        assert record["malignant_flagged"] == (record["label"] == "malignant")
        assert record["input_check"]["verdict"] in ("accepted", "unfamiliar")
        with Image.open(record["mask"]) as mask, Image.open(record["file"]) as scan:
            assert mask.size == scan.size
            assert set(np.unique(np.asarray(mask))) <= {0, 255}
    renamed = {name: Path(r["mask"]).name for name, r in records.items() if "mask_note" in r}
    assert renamed == {"scans/scan.bmp": "scan-2_pred.png", "scans/scan.png": "scan-3_pred.png",
                       "scans/scan.tif": "scan-4_pred.png"}
    assert "already in the folder" in records["scans/scan.bmp"]["mask_note"]
    assert Path(records["normal_50.png"]["mask"]).name == "normal_50_pred.png"
    assert "8 of 11 inputs scored, 3 failed" in result.stderr


def test_refused_inputs_get_the_apis_code_and_message(tmp_path, capsys, post_api):
    folder = tmp_path / "bad"
    for number, (make, _, _, _) in enumerate(BAD_UPLOADS.values()):
        write(folder / f"{number:02d}.bin", make())
    assert main([str(folder)]) == 2  # every input refused: nothing could be scored
    records = records_of(capsys.readouterr().out)
    assert len(records) == len(BAD_UPLOADS)
    for record, (name, (make, status, code, _)) in zip(records, BAD_UPLOADS.items(), strict=True):
        response = post_api(make())
        assert response.status_code == status, name
        assert record["error"] == response.get_json()["error"], name
        assert record["error"]["code"] == code, name


def test_every_input_scored_exits_0_and_agrees_with_the_pipeline(capsys):
    assert main([str(SCANS["malignant"]), str(SCANS["normal"])]) == 0
    records = records_of(capsys.readouterr().out)
    pipeline = Pipeline.load()
    for record, path in zip(records, (SCANS["malignant"], SCANS["normal"]), strict=True):
        with Image.open(path) as image:
            expected = pipeline.predict(image)
        assert record["file"] == str(path)
        assert (record["label"], record["most_likely"], record["malignant_flagged"]) == (
            expected.decision.label, expected.decision.most_probable, expected.decision.malignant_flagged)
        assert record["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
        assert "mask" not in record


def test_dicom_is_scored_and_no_patient_data_is_printed(tmp_path, capsys):
    dicom = write(tmp_path / "IM000001", dicom_bytes(gray_of(SCANS["malignant"])))
    assert main([str(dicom), "--masks-dir", str(tmp_path / "masks")]) == 0
    out, err = capsys.readouterr()
    (record,) = records_of(out)
    assert record["label"] in ("benign", "malignant", "normal")
    assert Path(record["mask"]).name == "IM000001_pred.png"
    for secret in PATIENT_SECRETS:
        assert secret not in out + err


@pytest.mark.slow  # starts the CLI and its two worker processes, each loading the models
def test_workers_give_the_same_records_in_input_order(tmp_path, capsys):
    inputs = [SCANS["benign"], write(tmp_path / "broken.png", b"\x89PNG\r\n\x1a\n cut"), SCANS["normal"],
              SCANS["malignant"]]
    assert main([*map(str, inputs)]) == 1
    alone = records_of(capsys.readouterr().out)
    parallel = run_cli(*inputs, "--workers", "2")
    assert parallel.returncode == 1, parallel.stderr
    together = records_of(parallel.stdout)
    assert [r["file"] for r in together] == [str(p) for p in inputs]
    for one, other in zip(alone, together, strict=True):
        assert {k: v for k, v in one.items() if k != "probabilities"} == \
               {k: v for k, v in other.items() if k != "probabilities"}
        assert one.get("probabilities") == pytest.approx(other.get("probabilities"), abs=1e-6)


def test_find_inputs_walks_folders_recursively_in_order_and_excludes(tmp_path):
    for name in ("b.png", "a.png", ".hidden.png", "a_mask.png", "sub/c.png", "sub/deeper/d.png",
                 "skipme/e.png", "masks/old_pred.png"):
        write(tmp_path / "in" / name, b"")
    single = write(tmp_path / "z.png", b"")
    found = find_inputs([tmp_path / "in", single, tmp_path / "missing.png"],
                        exclude=["*_mask.png", "skipme"], skip=tmp_path / "in" / "masks")
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "in/a.png", "in/b.png", "in/sub/c.png", "in/sub/deeper/d.png", "z.png", "missing.png"]
    found = find_inputs([tmp_path / "in"], exclude=["sub/deeper/*"])
    assert "in/sub/deeper/d.png" not in [p.relative_to(tmp_path).as_posix() for p in found]


def test_mask_writer_keeps_stem_names_and_never_overwrites(tmp_path):
    write(tmp_path / "x_pred.png", b"old")
    writer = MaskWriter(tmp_path)
    assert writer.write(Path("a/scan.png"), b"1") == (tmp_path / "scan_pred.png", None)
    path, note = writer.write(Path("b/scan.tif"), b"2")
    assert path.name == "scan-2_pred.png" and "a/scan.png" in note
    path, note = writer.write(Path("x.bmp"), b"3")
    assert path.name == "x-2_pred.png" and "already in the folder" in note
    assert [(tmp_path / name).read_bytes() for name in ("x_pred.png", "scan_pred.png", "scan-2_pred.png")] == [
        b"old", b"1", b"2"]


def test_nothing_to_score_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert main([str(SCANS["normal"]), "--models", str(tmp_path)]) == 2
    assert capsys.readouterr().out == ""
    assert main([str(tmp_path / "nonexistent")]) == 2  # its own error record, and nothing scored
    assert '"code": "not_found"' in capsys.readouterr().out
