"""The inference core pins BLAS to one thread itself: a process scoring scans burns CPU only
in the calling thread (LiteRT runs on that thread too with one interpreter thread).

Asserted on per-thread CPU, not on time: an idle OpenBLAS worker spinning beside each input
check had cost as much CPU as the request itself (issue 26)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from inference.paths import REPO_ROOT
from tests.helpers import FIXTURES

SCORE_AND_REPORT_THREADS = """
import json, sys, threading
import numpy as np
import psutil
from PIL import Image
from inference.input_check import InputCheck
from inference.pipeline import Pipeline
from inference.preprocessing import to_gray_array

if sys.argv[1] == "pipeline":  # plus a product the size of the input check's, run by numpy
    pipeline = Pipeline.load(threads=1)
    reference = np.random.default_rng(0).random((1342, 1280), dtype=np.float32)
    def score(gray):
        pipeline.predict_gray(gray)
        return reference[:1] @ reference.T
else:
    score = InputCheck.load(threads=1).check_gray
scans = [to_gray_array(Image.open(path)) for path in sys.argv[2:]]

def score_all():
    for gray in scans:
        score(gray)

def cpu_by_thread():
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}

score_all()  # warm-up: the first calls plan the graphs and start whatever threads will run
caller = threading.get_native_id()
before = cpu_by_thread()
while cpu_by_thread()[caller] - before[caller] < 0.5:  # enough scoring to see any other thread's share
    score_all()
after = cpu_by_thread()
others = [cpu - before.get(thread, 0.0) for thread, cpu in after.items() if thread != caller]
print(json.dumps({"caller": after[caller] - before[caller], "others": others}))
"""


@pytest.mark.parametrize("models", ["input check", "pipeline"])
def test_scoring_scans_burns_cpu_in_the_calling_thread_only(models):
    scans = sorted(str(p) for p in FIXTURES.glob("*.png"))
    # A deployment asking for four BLAS threads (or a many-core host's default) must not get them.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "4"}
    result = subprocess.run([sys.executable, "-c", SCORE_AND_REPORT_THREADS, models, *scans], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cpu = json.loads(result.stdout.strip().splitlines()[-1])
    assert cpu["caller"] >= 0.5  # the measurement saw the scoring
    assert sum(cpu["others"]) < 0.05 * cpu["caller"], cpu
