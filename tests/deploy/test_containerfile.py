"""The Containerfile, checked where no image can be built (docs/deployment.md says why): every
path it copies exists and is in the build context, and the app, once loaded, needs no other file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from inference.paths import REPO_ROOT

CONTAINERFILE = REPO_ROOT / "Containerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = CONTAINERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split()[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def copied() -> set[str]:
    """Every source of every COPY (the last word is the destination)."""
    return {source.rstrip("/") for name, args in instructions() if name == "COPY" for source in args.split()[:-1]}


def test_every_copied_path_exists_and_is_in_the_build_context():
    sources = copied()
    assert sources and all((REPO_ROOT / source).exists() for source in sources)
    patterns = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"  # nothing in the context but what is let back in
    assert {p[1:].rstrip("/") for p in patterns if p.startswith("!")} == sources


def test_image_runs_gunicorn_as_configured_as_a_user_with_a_health_check():
    steps = dict(instructions())
    assert steps["FROM"].startswith(f"docker.io/library/python:{sys.version_info.major}.{sys.version_info.minor}-slim")
    assert steps["USER"].split(":")[0] not in ("0", "root")
    assert "/healthz" in steps["HEALTHCHECK"]
    assert steps["ENTRYPOINT"] == '["tini", "--"]'
    assert steps["CMD"] == '["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]'


def test_the_loaded_app_reads_only_copied_paths():
    """Build the app as gunicorn does and list the repository files it imported; the data it reads
    (models, templates, static files, translations, the OpenAPI file) are under copied paths too."""
    listing = subprocess.run(  # module files of the project, not of the virtual environment's packages
        [sys.executable, "-c", "import sys, wsgi\nfor m in list(sys.modules.values()):\n"
         "    f = getattr(m, '__file__', None) or ''\n    if not f.startswith(sys.prefix): print(f)"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    imported = {Path(line).relative_to(REPO_ROOT).as_posix() for line in listing.stdout.splitlines()
                if line.startswith(f"{REPO_ROOT}/")}
    assert {"wsgi.py", "app/__init__.py", "inference/pipeline.py"} <= imported
    sources = copied()
    for path in imported | {"models", "templates", "static", "translations", "docs/openapi.yaml"}:
        assert any(path == source or path.startswith(source + "/") for source in sources), path
