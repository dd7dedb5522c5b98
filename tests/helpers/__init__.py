"""What many tests share: the fixture scans, the data sets beside the clone, a CSRF token, a free port.

Test modules import helpers from here (never from each other or from conftest.py).
"""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from inference.paths import BUSBRA_DIR, BUSI_DIR

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
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


def csrf_token(client) -> str:
    """The token the upload page embeds (it also sets the session cookie it belongs to)."""
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
