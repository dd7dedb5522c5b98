"""Fixtures for the web app tests: one real app (real bundled models) per test session."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from inference.paths import BUSBRA_DIR, BUSI_DIR

FIXTURES = Path(__file__).parent / "fixtures"
SCANS = {
    "benign": FIXTURES / "benign_51.png",
    "benign_colour_marks": FIXTURES / "benign_6_colour_marks.png",
    "malignant": FIXTURES / "malignant_137.png",
    "normal": FIXTURES / "normal_50.png",
}


def require_data(folder: Path) -> Path:
    """A data set beside the clone. CI always checks it out, so there a missing folder fails
    the test; on a machine without the data the test is skipped."""
    if folder.is_dir():
        return folder
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"data set not found at {folder}, and CI must have it")
    pytest.skip(f"data set not found at {folder}")


def require_busi() -> Path:
    return require_data(BUSI_DIR)


def require_busbra() -> Path:
    return require_data(BUSBRA_DIR)


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
    """`force(probabilities)`: the served pipeline answers these (decided by its own rule; the
    real mask is kept), to reach any row of the decision table with a real scan."""
    import numpy as np

    from inference.pipeline import Pipeline
    from inference.settings import CLASS_NAMES

    real_predict = Pipeline.predict

    def force(probabilities: dict[str, float]) -> None:
        def predict(self, image):
            prediction = real_predict(self, image)
            prediction.probabilities = dict(probabilities)
            prediction.decision = self.decide(np.array([probabilities[name] for name in CLASS_NAMES]))
            return prediction

        monkeypatch.setattr(Pipeline, "predict", predict)

    return force


@pytest.fixture
def scan_bytes() -> bytes:
    """A real BUSI scan (malignant) as PNG bytes."""
    return SCANS["malignant"].read_bytes()


def csrf_token(client) -> str:
    """The token the upload page embeds (it also sets the session cookie it belongs to)."""
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


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
