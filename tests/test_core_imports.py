"""The inference core stands alone: training and the batch CLI load no web stack, and the
training command line answers --help without the training requirements."""
from __future__ import annotations

import subprocess
import sys

import pytest

from inference.paths import REPO_ROOT

WEB_STACK = ("flask", "flask_wtf", "werkzeug", "geopy", "zipcodes")
# What requirements-train.txt adds to requirements.txt: blocked, as if not installed.
TRAINING_ONLY = ("tensorflow", "keras", "sklearn", "scipy", "albumentations", "imagehash", "matplotlib")


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)


def web_stack_after_importing(modules: str) -> str:
    loaded = f"sorted(m for m in sys.modules if m.split('.')[0] in {WEB_STACK!r})"
    result = run_python(f"import sys, {modules}\nprint({loaded})")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_batch_cli_and_upload_vetting_import_no_web_stack():
    assert web_stack_after_importing("inference.predict, inference.batch, inference.imaging") == "[]"


@pytest.mark.slow  # imports TensorFlow in a subprocess
def test_training_evaluation_and_export_import_no_web_stack():
    assert web_stack_after_importing("training.data, training.evaluate, training.export, training.train") == "[]"


def test_training_help_works_without_the_training_requirements():
    block = f"import runpy, sys\nsys.modules.update(dict.fromkeys({TRAINING_ONLY!r}))\n"
    listing = run_python(block + "sys.argv = ['training', '--help']\nrunpy.run_module('training', run_name='__main__')")
    assert listing.returncode == 0, listing.stderr
    for command in ("split", "train", "export", "evaluate", "all"):
        line = next(line for line in listing.stdout.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split()) > 3, f"{command} has no one-line help: {line!r}"
    train_help = run_python(block + "sys.argv = ['training', 'train', '--help']\n"
                                    "runpy.run_module('training', run_name='__main__')")
    assert train_help.returncode == 0, train_help.stderr
    assert "--epochs" in train_help.stdout and "--data DATA [DATA ...]" in train_help.stdout
