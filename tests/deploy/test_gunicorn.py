"""Deployment as shipped: gunicorn.conf.py + wsgi:app, and settings from the environment."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from inference.paths import REPO_ROOT as REPO
from tests.helpers import SCANS, free_port

pytestmark = pytest.mark.slow  # starts gunicorn


@pytest.fixture(scope="module")
def gunicorn_url():
    """gunicorn with the shipped config (2 preloaded gthread workers) on a free port."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                              cwd=REPO, env={**os.environ, "BUSI_BIND": f"127.0.0.1:{port}"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_healthz(url)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def wait_for_healthz(url: str) -> None:
    for _ in range(300):
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.05)
    pytest.fail("gunicorn did not become ready in 15 s")


def test_gunicorn_serves_concurrent_predictions(gunicorn_url):
    scan = SCANS["benign"].read_bytes()

    def predict(_):
        return requests.post(gunicorn_url + "/api/v1/predict", files={"image": ("scan.png", scan)}, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(predict, range(12)))
    assert [r.status_code for r in responses] == [200] * 12
    # the same answer from every worker
    assert len({tuple(sorted(r.json()["probabilities"].items())) for r in responses}) == 1


def test_a_form_from_one_worker_posts_to_any_worker(gunicorn_url):
    """The workers share one secret key, so the CSRF token and session cookie of a page
    served by one worker are valid on the other (new connection per request)."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    page = session.get(gunicorn_url + "/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    scan = SCANS["normal"].read_bytes()
    statuses = [session.post(gunicorn_url + "/analyse", data={"csrf_token": token},
                             files={"image": ("scan.png", scan)}, timeout=30).status_code for _ in range(6)]
    assert statuses == [200] * 6


def test_settings_from_environment(monkeypatch):
    from app import create_app

    monkeypatch.setenv("BUSI_MAX_CONTENT_LENGTH", "1048576")
    monkeypatch.setenv("BUSI_GEOCODER_ONLINE", "false")
    app = create_app({"MIN_IMAGE_SIDE": 32})
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576
    assert app.config["GEOCODER_ONLINE"] is False
    assert app.config["MIN_IMAGE_SIDE"] == 32  # the mapping passed in wins
    assert app.config["SECRET_KEY"]  # a random one when none is set


def test_metrics_sum_every_workers_uploads(gunicorn_url):
    """Runs after the two tests above (12 API uploads, 6 form posts, spread over both workers):
    the worker that answers /metrics reports them all (prometheus_client's multiprocess mode)."""
    text = requests.get(gunicorn_url + "/metrics", timeout=10).text
    assert 'busi_upload_seconds_count{endpoint="api.predict"} 12.0' in text
    assert 'busi_upload_seconds_count{endpoint="views.analyse"} 6.0' in text


def test_a_hup_serves_updated_models_and_a_broken_update_keeps_the_old_ones(tmp_path):
    """A model update is new files and a SIGHUP: the master loads them again (gunicorn.conf.py's
    on_reload) and forks new workers. Files that do not load leave the old models serving."""
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    card_path = models / "model_card.json"
    card = json.loads(card_path.read_text())
    port, log = free_port(), tmp_path / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    with open(log, "ab") as output:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=REPO,
                                  env={**os.environ, "BUSI_BIND": f"127.0.0.1:{port}", "BUSI_MODELS_DIR": str(models)},
                                  stdout=output, stderr=subprocess.STDOUT)
    master = psutil.Process(server.pid)

    def reload_and_wait(message: str) -> None:
        workers = {worker.pid for worker in master.children()}
        master.send_signal(signal.SIGHUP)
        for _ in range(300):
            if message in log.read_text() and not workers & {worker.pid for worker in master.children()}:
                return
            time.sleep(0.1)
        pytest.fail(f"no '{message}' with new workers in 30 s: {log.read_text()[-2000:]}")

    def version_and_upload() -> tuple[str, int]:
        upload = requests.post(url + "/api/v1/predict", files={"image": ("scan.png", SCANS["benign"].read_bytes())},
                               timeout=30)
        return requests.get(url + "/healthz", timeout=10).json()["model"]["version"], upload.status_code

    try:
        wait_for_healthz(url)
        card_path.write_text(json.dumps({**card, "version": "updated"}))
        reload_and_wait("Models reloaded: updated")
        assert version_and_upload() == ("updated", 200)
        card_path.write_text("{")  # a broken update
        reload_and_wait("Models not reloaded; the ones loaded before keep serving")
        assert version_and_upload() == ("updated", 200)
    finally:
        server.terminate()
        server.wait(30)
