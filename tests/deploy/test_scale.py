"""Several instances behind serve.sh's nginx: restarts that lose nothing, shared forms, the
per-client upload limit and /metrics. Real nginx and gunicorn on 127.0.0.1 and unix sockets only."""
from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from inference.paths import REPO_ROOT
from tests.helpers import SCANS
from tests.helpers.stack import Stack, post

UPLOADS, CONCURRENCY, RELOAD_AFTER, KILL_AFTER = 120, 4, 30, 60
FLOOD = 60  # uploads sent at once by one client
STEADY_UPLOADS, STEADY_GAP_S = 5, 2.0  # one upload every 2 s: a person's pace, never limited


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("pair"), BUSI_INSTANCES="2", BUSI_RATE_LIMIT="0")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """serve.sh as the README starts it: one instance, the default upload limit."""
    running = Stack(tmp_path_factory.mktemp("limited"))
    yield running
    running.stop()


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to one gunicorn instance's socket, past nginx."""

    def __init__(self, socket_path):
        super().__init__("localhost", timeout=30)
        self.socket_path = str(socket_path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.socket_path)


@pytest.mark.slow  # serve.sh: nginx and gunicorn
def test_a_form_from_one_instance_posts_to_the_other(pair):
    """serve.sh gives both instances one secret key: the CSRF token and session cookie of a page
    rendered by instance 1 are accepted by instance 2."""
    first = UnixHTTPConnection(pair.run_dir() / "app-1.sock")
    first.request("GET", "/")
    page = first.getresponse()
    cookie = page.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    form = requests.Request("POST", "http://localhost/analyse", data={"csrf_token": token},
                            files={"image": ("scan.png", SCANS["normal"].read_bytes())}).prepare()
    second = UnixHTTPConnection(pair.run_dir() / "app-2.sock")
    second.request("POST", "/analyse", body=form.body, headers={**form.headers, "Cookie": cookie})
    answer = second.getresponse()
    assert answer.status == 200, answer.read()[:500]


def metric_samples(url: str) -> list:
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def sample_value(samples: list, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def status_from_second_loopback_address(port: int, path: str) -> bytes:
    """The status line nginx gives a client at 127.0.0.2 (still this machine, not on the allow-list)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(4096).split(b"\r\n")[0]


@pytest.mark.slow  # serve.sh: nginx and gunicorn
def test_metrics_sum_both_instances_and_hold_no_client_data(pair):
    scan = SCANS["benign"].read_bytes()
    before = metric_samples(pair.url)
    for _ in range(4):  # nginx alternates between the instances
        assert post(pair.url, scan, location="Hamilton, ON").status_code == 200
    assert post(pair.url, scan[:300], "secret-name.png").status_code == 400
    after = metric_samples(pair.url)
    uploads = {"endpoint": "api.predict"}
    assert (sample_value(after, "busi_upload_seconds_count", **uploads)
            - sample_value(before, "busi_upload_seconds_count", **uploads)) == 5
    assert sample_value(after, "busi_upload_seconds_bucket", le="+Inf", **uploads) == \
        sample_value(after, "busi_upload_seconds_count", **uploads)
    assert sample_value(after, "busi_http_requests_total", endpoint="api.predict", status="400") >= 1
    assert sample_value(after, "busi_refusals_total", reason="unreadable_image") >= 1
    version = requests.get(pair.url + "/healthz", timeout=10).json()["model"]["version"]
    for stage in ("segment", "classify"):
        assert sample_value(after, "busi_model_stage_seconds_count", stage=stage, model_version=version) >= 4
    text = requests.get(pair.url + "/metrics", timeout=10).text
    for client_data in ("Hamilton", "127.0.0", "secret-name", "location"):
        assert client_data not in text
    assert status_from_second_loopback_address(pair.port, "/metrics") == b"HTTP/1.1 403 Forbidden"
    assert status_from_second_loopback_address(pair.port, "/healthz") == b"HTTP/1.1 200 OK"


@pytest.mark.slow  # serve.sh: nginx and gunicorn
def _live_pids(processes: list[psutil.Process]) -> set[int]:
    """Pids of the processes that still run (an exited worker the master has not reaped yet is a zombie)."""
    live = set()
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                live.add(process.pid)
        except psutil.NoSuchProcess:
            pass
    return live


def test_a_reload_and_a_kill_under_load_lose_no_upload(pair):
    """120 uploads, 4 at a time: instance 1 is sent SIGHUP (a model update) after 30 answers,
    instance 2's master and workers are SIGKILLed after 60. nginx resends what failed: what a killed
    worker had not answered, since gunicorn.conf.py sends each answer in one write, so nginx never holds
    half of one (it cannot resend once a header has come; this failed in 2 of about 5 runs before)."""
    scan = SCANS["benign"].read_bytes()
    reloaded, killed = pair.gunicorn_master(1), pair.gunicorn_master(2)
    old_workers = {worker.pid for worker in reloaded.children()}
    answered, lock = [0], threading.Lock()

    def upload(_) -> int:
        status = post(pair.url, scan).status_code
        with lock:
            answered[0] += 1
            if answered[0] == RELOAD_AFTER:
                reloaded.send_signal(signal.SIGHUP)
            if answered[0] == KILL_AFTER:
                for process in [killed, *killed.children()]:
                    process.kill()
        return status

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        statuses = list(pool.map(upload, range(UPLOADS)))
    assert statuses == [200] * UPLOADS
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Booting worker" not in pair.log().split("gunicorn 2 exited")[-1]:
        time.sleep(0.5)
    log = pair.log()
    assert "serve.sh: gunicorn 2 exited (137); starting it again" in log
    assert "Models reloaded: " + requests.get(pair.url + "/healthz", timeout=10).json()["model"]["version"] in log
    # All replaced: the reload loads the models in the master before it stops the old workers, which
    # then finish what they hold (up to graceful_timeout); on a busy machine that can end after the uploads
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and old_workers & _live_pids(reloaded.children()):
        time.sleep(0.5)
    assert not old_workers & _live_pids(reloaded.children())
    assert re.search(r'"POST /api/v1/predict" 200 \d+ \S+ upstream 502, 200', log)  # resent by nginx
    assert "127.0.0.1" not in log.replace(f"127.0.0.1:{pair.port}", "")  # no client address
    assert pair.gunicorn_master(2).pid != killed.pid
    assert [post(pair.url, scan).status_code for _ in range(4)] == [200] * 4  # both serve again


@pytest.mark.slow  # serve.sh: nginx and gunicorn
def test_a_flood_from_one_client_is_limited_and_a_steady_client_is_not(limited):
    """60 uploads at once from one address (half API, half form, in French): some 429 with
    Retry-After and the app's message, no 5xx. Then one upload every 2 s: never limited."""
    scan = SCANS["benign"].read_bytes()
    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(limited.url + "/?lang=fr").text).group(1)

    def send(index: int) -> requests.Response:
        if index % 2:
            return requests.post(limited.url + "/api/v1/predict", files={"image": ("scan.png", scan)},
                                 headers={"Accept-Language": "fr"}, timeout=60)
        return requests.post(limited.url + "/analyse", data={"csrf_token": token}, timeout=60,
                             files={"image": ("scan.png", scan)}, cookies=session.cookies)

    with ThreadPoolExecutor(FLOOD) as pool:
        flood = list(pool.map(send, range(FLOOD)))
    statuses = [r.status_code for r in flood]
    limited_api = [r for r in flood[1::2] if r.status_code == 429]
    limited_pages = [r for r in flood[::2] if r.status_code == 429]
    print(f"\n{FLOOD} at once: {statuses.count(200)} answered, {statuses.count(429)} limited")
    assert set(statuses) <= {200, 429} and 200 in statuses and limited_api and limited_pages
    for response in limited_api:
        assert response.headers["Retry-After"] == "1"  # 60 a minute: one more each second
        assert response.json()["error"]["code"] == "too_many_requests"
        assert response.json()["error"]["message"].startswith("Trop d’images ont été envoyées")
    for response in limited_pages:
        assert response.headers["Retry-After"] == "1"
        assert '<html lang="fr">' in response.text and "Trop d’images ont été envoyées" in response.text
    # A client sending one every 2 s, starting one gap after the flood's last answer: with the burst
    # used up, an upload at once could still find it full (the bucket drains one a second: on a quiet
    # machine the flood's 11 answers take under a second)
    time.sleep(STEADY_GAP_S)
    steady = []
    for _ in range(STEADY_UPLOADS):
        started = time.monotonic()
        steady.append(post(limited.url, scan).status_code)
        time.sleep(max(0.0, STEADY_GAP_S - (time.monotonic() - started)))
    assert steady == [200] * STEADY_UPLOADS


def test_retry_after_follows_the_limit(client, monkeypatch):
    """The app's 429 (what nginx shows a limited client) says when one more upload is allowed."""
    monkeypatch.setitem(client.application.config, "RATE_LIMIT", 6)
    response = client.get("/api/v1/too-many-uploads")
    assert response.status_code == 429 and response.headers["Retry-After"] == "10"
    assert response.json["error"]["code"] == "too_many_requests"


@pytest.mark.parametrize("setting, value, message", [
    ("BUSI_INSTANCES", "two", "BUSI_INSTANCES must be a whole number from 1 to 99, not 'two'"),
    ("BUSI_INSTANCES", "0", "BUSI_INSTANCES must be a whole number from 1 to 99, not '0'"),
    ("BUSI_RATE_LIMIT", "fast", "BUSI_RATE_LIMIT must be a whole number of uploads a minute (0: no limit), not 'fast'"),
    ("BUSI_RATE_LIMIT", "-5", "BUSI_RATE_LIMIT must be a whole number of uploads a minute (0: no limit), not '-5'"),
])
def test_a_bad_setting_stops_serve_sh_with_a_message(setting, value, message):
    result = subprocess.run(["bash", "scripts/serve.sh"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
                            env={"PATH": "/usr/bin:/bin:/usr/sbin", "BUSI_PYTHON": sys.executable, setting: value})
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr
