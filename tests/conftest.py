"""Fixtures for the web app tests: one real app (real bundled models) per test session.

Helpers that are not fixtures live in `tests.helpers`."""
from __future__ import annotations

import io
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.helpers import SCANS, csrf_token

TESTS = Path(__file__).resolve().parent
# These import the training stack (`pip install -e .[train]`); a web-only install does not collect them.
NEEDS_TRAINING_EXTRA = ("training", "experiments")
# Modules whose every test is slow and which import TensorFlow just to be collected (5 to 15 s here):
# the fast loop (`-m "not slow"`) does not import them at all.
IMPORT_TENSORFLOW = ("training/test_cross_fit.py", "training/test_fine_tuning.py", "training/test_pretrained.py",
                     "training/test_train_smoke.py", "experiments/test_unet_recipe.py",
                     "experiments/test_calibration_by_source.py", "experiments/test_ensemble.py")
TRAINING_EXTRA_INSTALLED = find_spec("keras") is not None


def pytest_report_header(config):
    if not TRAINING_EXTRA_INSTALLED:
        return f"training extra not installed: tests/{{{','.join(NEEDS_TRAINING_EXTRA)}}}/ not collected"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = collection_path.resolve()
    if not path.is_relative_to(TESTS):
        return None
    relative = path.relative_to(TESTS).as_posix()
    if not TRAINING_EXTRA_INSTALLED and relative.split("/")[0] in NEEDS_TRAINING_EXTRA:
        return True
    if relative in IMPORT_TENSORFLOW and config.getoption("markexpr").split() == ["not", "slow"]:
        return True
    return None


@pytest.fixture(scope="session")
def app():
    from app import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test-secret"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def broken_pipeline(app, monkeypatch):
    """The models fail unexpectedly; the app answers as in production (TESTING would re-raise)."""
    from inference.pipeline import Pipeline

    def broken(self, image):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(Pipeline, "predict", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


@pytest.fixture
def force_probabilities(monkeypatch):
    """`force(probabilities)`: the served classifier's calibrated answer is these (decided, and
    its caveats found, by the pipeline's own rules; the real mask is kept), to reach any row of
    the decision table with a real scan."""
    import numpy as np

    from inference.pipeline import Pipeline
    from inference.settings import CLASS_NAMES

    def force(probabilities: dict[str, float]) -> None:
        forced = np.log(np.maximum([probabilities[name] for name in CLASS_NAMES], 1e-12))

        def classifier_logits(self, square, square_mask):
            return self.settings.temperature * forced[None]

        monkeypatch.setattr(Pipeline, "classifier_logits", classifier_logits)

    return force


@pytest.fixture
def scan_bytes() -> bytes:
    """A real BUSI scan (malignant) as PNG bytes."""
    return SCANS["malignant"].read_bytes()


@pytest.fixture
def submit_form(client):
    """POST the upload form as a browser would: CSRF token included, file under `image`."""

    def submit(data: bytes | None, filename: str = "scan.png", **fields):
        form = {"csrf_token": csrf_token(client), **fields}
        if data is not None:
            form["image"] = (io.BytesIO(data), filename)
        return client.post("/analyse", data=form, content_type="multipart/form-data")

    return submit


@pytest.fixture
def post_api(client):
    """POST to the JSON API with the file under `image`."""

    def post(data: bytes | None, filename: str = "scan.png", headers: dict | None = None, **fields):
        form = dict(fields)
        if data is not None:
            form["image"] = (io.BytesIO(data), filename)
        return client.post("/api/v1/predict", data=form, content_type="multipart/form-data", headers=headers)

    return post
