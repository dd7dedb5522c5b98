"""Where things are: the one module that knows the repository root."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
MANIFEST_DIR = REPO_ROOT / "training"  # split_manifest_<source>.json, one per data set
# Data sets are checked out beside the clone (read-only), on the development machine and in CI.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
BUSI_DIR = SHARED_DATA / "busi" / "Dataset_BUSI_with_GT"
BUSBRA_DIR = SHARED_DATA / "busbra"
