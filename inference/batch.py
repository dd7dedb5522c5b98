"""Batch scoring behind `python -m inference.predict`: find the inputs, vet and score each, write masks.

It runs the web app's own input checks (`inference.imaging`) and the inference core, never the
web stack: no Flask, geopy or zipcodes is imported. Nothing of a scan is logged, and DICOM
patient data is never read (`inference.dicom` parses only the image's tags).
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatch
from multiprocessing import get_context
from pathlib import Path, PurePath
from typing import Iterable, Iterator, Sequence

from PIL import Image

from inference.imaging import MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE, decode_upload, mask_png
from inference.input_check import InputCheck, InputVerdict
from inference.input_errors import InputError, require_ultrasound
from inference.pipeline import Pipeline

MASK_SUFFIX = "_pred.png"


@dataclass
class Outcome:
    """One input's JSON record and, when it was scored, its mask as a 0/255 PNG."""

    record: dict
    mask_png: bytes | None = None


def find_inputs(arguments: Iterable[Path], exclude: Sequence[str] = (), skip: Path | None = None) -> list[Path]:
    """The files to score, in command-line order; folders are walked recursively, sorted.

    Inside a folder, hidden entries, entries matching an `exclude` glob (on the name or on
    the path relative to that folder) and the folder `skip` (where masks are written, so a
    second run does not score the first run's masks) are left out. A path that is not a
    folder is kept as given, even a missing one: it gets its own error record.
    """
    skip = skip.resolve() if skip is not None else None
    found = []
    for argument in arguments:
        if not argument.is_dir():
            found.append(argument)
            continue
        for folder, subfolders, files in os.walk(argument):
            folder = Path(folder)
            relative = folder.relative_to(argument)
            subfolders[:] = sorted(name for name in subfolders
                                   if not _left_out(relative / name, exclude) and (folder / name).resolve() != skip)
            found.extend(folder / name for name in sorted(files) if not _left_out(relative / name, exclude))
    return found


def _left_out(relative: PurePath, exclude: Sequence[str]) -> bool:
    return relative.name.startswith(".") or any(
        fnmatch(relative.name, pattern) or fnmatch(relative.as_posix(), pattern) for pattern in exclude)


@dataclass
class Models:
    """What scores a file: the pipeline and the learned input check, loaded once."""

    pipeline: Pipeline
    check: InputCheck

    @classmethod
    def load(cls, models_dir: Path) -> "Models":
        pipeline = Pipeline.load(models_dir)
        return cls(pipeline, InputCheck.load(models_dir, threads=pipeline.settings.threads))


def vet_input(data: bytes, check: InputCheck) -> tuple[Image.Image, InputVerdict]:
    """The file's bytes as the image to score with the input check's verdict, or the
    InputError the web app would answer.

    The one place where an input is checked before scoring: the app's decoding (format
    sniffing, DICOM, damaged files), its default pixel limits and the learned input check.
    """
    image = decode_upload(data, MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE)
    return image, require_ultrasound(check, image)


def score_file(models: Models, path: Path) -> Outcome:
    """Vet and score one file; every failure becomes an `error` record, never an exception."""
    record = {"file": str(path), "model": {"version": models.pipeline.version}}
    try:
        image, verdict = vet_input(path.read_bytes(), models.check)
        prediction = models.pipeline.predict(image)
    except InputError as error:
        return Outcome({**record, "error": {"code": error.code, "message": error.message}})
    except FileNotFoundError:
        return Outcome({**record, "error": {"code": "not_found", "message": "There is no such file."}})
    except OSError as error:
        return Outcome({**record, "error": {"code": "unreadable_file",
                                            "message": f"The file cannot be read: {error.strerror or 'I/O error'}."}})
    except Exception as error:  # noqa: BLE001 - one input's failure must not stop the batch
        return Outcome({**record, "error": {"code": "internal_error",
                                            "message": f"Scoring failed ({error.__class__.__name__})."}})
    decision = prediction.decision
    return Outcome({**record, "label": decision.label, "most_likely": decision.most_probable,
                    "malignant_flagged": decision.malignant_flagged,
                    "uncertain": prediction.uncertain, "caveats": list(prediction.caveats),
                    "probabilities": prediction.probabilities, "input_check": verdict.as_json()},
                   mask_png(prediction.mask))


def score_all(paths: Sequence[Path], models: Models, models_dir: Path, workers: int) -> Iterator[Outcome]:
    """`score_file` for each path, in input order. With `workers` > 1 the files are scored in
    that many processes, each of which loads the models from `models_dir` once; else
    `models` score them here."""
    if workers <= 1:
        yield from (score_file(models, path) for path in paths)
        return
    # spawn, not fork: the parent holds LiteRT interpreters and the progress bar's thread.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_load_worker_pipeline,
                             initargs=(models_dir,)) as executor:
        yield from executor.map(_score_in_worker, paths)


_worker_models: Models | None = None


def _load_worker_pipeline(models_dir: Path) -> None:
    global _worker_models
    _worker_models = Models.load(models_dir)


def _score_in_worker(path: Path) -> Outcome:
    return score_file(_worker_models, path)


class MaskWriter:
    """Writes each input's mask as `<stem>_pred.png` in `folder`, and never over an existing file.

    When that name is taken, by another input of this run with the same stem or by a file
    already in the folder (an earlier run), the mask gets the first free `<stem>-2_pred.png`,
    `<stem>-3_pred.png`, ... and a note that says why. Files are created exclusively, so
    even a second run writing into the same folder at the same time cannot overwrite one.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.written: dict[str, Path] = {}  # mask name -> the input it was written for

    def write(self, source: Path, png: bytes) -> tuple[Path, str | None]:
        """The path written for `source` and, when it is not `<stem>_pred.png`, a note saying why."""
        wanted, number = f"{source.stem}{MASK_SUFFIX}", 1
        while True:
            path = self.folder / (wanted if number == 1 else f"{source.stem}-{number}{MASK_SUFFIX}")
            try:
                file = open(path, "xb")
            except FileExistsError:
                number += 1
                continue
            try:
                with file:
                    file.write(png)
            except OSError:  # a full disk, say: remove the partial file, which is this run's own
                path.unlink(missing_ok=True)
                raise
            self.written[path.name] = source
            if number == 1:
                return path, None
            owner = self.written.get(wanted)
            why = f"the mask of {owner}, same stem" if owner else "already in the folder before this run"
            return path, f"{wanted} was taken ({why}); wrote {path.name}"
