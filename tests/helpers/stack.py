"""scripts/serve.sh as a test starts it: nginx in front of gunicorn on a free loopback port."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from inference.paths import REPO_ROOT
from tests.helpers import free_port

CLIENT_TIMEOUT_S = 3  # BUSI_CLIENT_TIMEOUT for these runs (10 s by default)


def nginx_or_skip() -> None:
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        return
    if os.environ.get("CI"):
        pytest.fail("nginx is missing: scripts/test.sh installs it")
    pytest.skip("nginx is not installed (apt-get install nginx-light)")


class Stack:
    """scripts/serve.sh on a free loopback port; its output goes to a file the tests read.
    `settings`: BUSI_* variables for this stack (BUSI_INSTANCES, BUSI_RATE_LIMIT...)."""

    def __init__(self, tmp: Path, **settings: str):
        nginx_or_skip()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"serve-{self.port}.log"
        env = {**os.environ, "BUSI_BIND": f"127.0.0.1:{self.port}", "BUSI_PYTHON": sys.executable,
               "BUSI_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT_S), **settings}
        with open(self.log_path, "ab") as log:  # appending: nginx opens /dev/stdout anew
            self.process = subprocess.Popen(["bash", "scripts/serve.sh"], cwd=REPO_ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, limit_s: float = 90) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve.sh exited {self.process.returncode}: {self.log()[-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"serve.sh not ready in {limit_s} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run_dir(self) -> Path:
        return Path(re.search(r"(/\S+/busi-serve\.\w+)/app-1\.sock", self.log()).group(1))

    def gunicorn_master(self, instance: int) -> psutil.Process:
        """The master serving app-<instance>.sock now (a restarted instance has a new one)."""
        socket_arg = f"/app-{instance}.sock"
        return next(child for child in psutil.Process(self.process.pid).children()
                    if any(arg.endswith(socket_arg) for arg in child.cmdline()))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


def post(url: str, data: bytes, filename: str = "scan.png", **form) -> requests.Response:
    return requests.post(url + "/api/v1/predict", files={"image": (filename, data)}, data=form, timeout=30)
