"""Deployment as shipped: gunicorn.conf.py + wsgi:app, and settings from the environment."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from inference.paths import REPO_ROOT as REPO
from tests.helpers import SCANS, free_port
from tests.helpers.dying_app import HALF

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


@pytest.fixture
def dying_app(tmp_path):
    """gunicorn with the shipped config serving tests/helpers/dying_app.py on a unix socket, as serve.sh
    binds each instance. Yields the socket and the app's folder (its `died`, `pid`, `sent` files).
    Stopped with SIGKILL to its process group: a SIGTERM that reaches a worker still booting (these tests
    end within a second of the start) is lost, and gunicorn then waits graceful_timeout (30 s) for it."""
    socket_path = tmp_path / "app.sock"
    (tmp_path / "metrics").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tests.helpers.dying_app:app"], cwd=REPO,
        env={**os.environ, "BUSI_BIND": f"unix:{socket_path}", "DYING_APP_DIR": str(tmp_path), "BUSI_ACCESS_LOG": "",
             "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for(socket_path, 15), "gunicorn did not bind its socket in 15 s"
        yield socket_path, tmp_path
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)


def send_get(socket_path, target: str) -> socket.socket:
    """A GET as nginx sends one to an instance (HTTP/1.1), on a new connection."""
    connection = socket.socket(socket.AF_UNIX)
    connection.settimeout(30)
    connection.connect(str(socket_path))
    connection.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    return connection


def read_to_end(connection: socket.socket) -> bytes:
    with connection:
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def wait_for(path, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return path.exists()


def test_a_worker_killed_mid_answer_has_sent_nothing(dying_app):
    """gunicorn.conf.py's OneWriteResponse: a worker SIGKILLed after the app has produced the headers and
    half the body has written none of it (plain gunicorn would have sent both), so nginx sees a connection
    closed before any response and resends the request to another instance; the next request is answered
    whole. nginx cannot resend once a header has arrived: test_scale's reload-and-kill test."""
    socket_path, folder = dying_app
    assert read_to_end(send_get(socket_path, "/die-mid-answer")) == b""
    assert (folder / "died").exists()  # the worker did die in the middle of that answer
    head, _, body = read_to_end(send_get(socket_path, "/die-mid-answer")).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == 2 * HALF


def test_an_answer_larger_than_the_socket_buffer_is_whole_if_its_worker_dies_unread(dying_app):
    """An answer over the socket's default send buffer (212,992 bytes here) would block the worker's
    write until nginx reads, and a SIGKILL then leaves nginx part of it. OneWriteResponse raises the
    buffer first: the write completes at once, and the answer is whole even if nobody has read a byte
    of it when the worker is killed."""
    socket_path, folder = dying_app
    size = 300_000
    with socket.socket(socket.AF_UNIX) as probe:  # else this test could not fail
        assert probe.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < size
    connection = send_get(socket_path, f"/large?bytes={size}")
    assert wait_for(folder / "pid", 15)
    written = wait_for(folder / "sent", 3)
    worker = psutil.Process(int((folder / "pid").read_text()))
    worker.kill()
    # Read only once it is gone: a thread killed in a blocked write carries on writing while it finds room
    worker.wait(10)
    head, _, body = read_to_end(connection).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and f"Content-Length: {size}".encode() in head
    assert len(body) == size and written
