"""The production stack as scripts/serve.sh starts it: real nginx in front of real gunicorn.

Everything talks to 127.0.0.1 only, with bounded client counts and durations.
"""
from __future__ import annotations

import socket
import threading
import time

import psutil
import pytest
import requests

from tests.helpers import SCANS
from tests.helpers.dicom_files import PATIENT_SECRETS, dicom_bytes, gray_of
from tests.helpers.stack import CLIENT_TIMEOUT_S, Stack, post
from tests.helpers.uploads import encode, scan

pytestmark = pytest.mark.slow  # starts nginx and gunicorn through scripts/serve.sh

SLOW_CLIENTS = 50
HEALTHZ_BOUND_S, UPLOAD_BOUND_S = 1.0, 2.0  # the requirement under slow clients


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """No rate limit: the slow-client test opens 50 uploads from one address (test_scale.py tests it)."""
    running = Stack(tmp_path_factory.mktemp("serve"), BUSI_RATE_LIMIT="0")
    yield running
    running.stop()


def test_truncated_jpeg_is_a_400_through_the_stack(stack):
    response = post(stack.url, encode(scan(), "JPEG", quality=90)[:200], "scan.jpg")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unreadable_image"


def test_dicom_of_a_busi_scan_gets_the_pngs_answer_through_the_stack(stack):
    png = post(stack.url, SCANS["malignant"].read_bytes()).json()
    dicom = post(stack.url, dicom_bytes(gray_of(SCANS["malignant"])), "IM000001").json()
    assert dicom["label"] == png["label"]
    for name, probability in png["probabilities"].items():
        assert dicom["probabilities"][name] == pytest.approx(probability, abs=1e-3)


def test_upload_over_the_limit_is_refused_by_nginx_in_the_apps_words(stack):
    too_big = b"\0" * (10 * 1024 * 1024 + 1)
    response = post(stack.url, too_big)
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "upload_too_large",
                                        "message": "The upload is too large: the limit is 10 MB."}
    page = requests.post(stack.url + "/analyse", files={"image": ("scan.png", too_big)}, timeout=30)
    assert page.status_code == 413 and "the limit is 10 MB" in page.text
    assert 'id="upload-form"' in page.text and "/static/style.css" in page.text  # the app's own page
    french = requests.post(stack.url + "/analyse", files={"image": ("scan.png", too_big)}, timeout=30,
                           headers={"Accept-Language": "fr-CA"})
    assert french.status_code == 413 and '<html lang="fr">' in french.text
    assert "la limite est de 10 Mo" in french.text


def test_openapi_document_through_the_stack(stack):
    response = requests.get(stack.url + "/api/v1/openapi.yaml", timeout=10)
    assert response.status_code == 200 and "openapi: 3.1" in response.text


class SlowClients:
    """`count` connections, each trickling a multipart upload 10 bytes every 0.5 s until stopped."""

    def __init__(self, port: int, count: int):
        self.stop_event = threading.Event()
        head = (f"POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: multipart/form-data; boundary=slow\r\nContent-Length: 200000\r\n\r\n"
                '--slow\r\nContent-Disposition: form-data; name="image"; filename="scan.png"\r\n\r\n')
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(head.encode())
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop_event.wait(0.5):
            for sock in self.sockets:
                sock.sendall(b"\x89PNG\r\n\x1a\n\0\0")

    def close(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


def timed(call) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    response = call()
    return time.perf_counter() - start, response


def test_fifty_slow_clients_do_not_starve_the_site(stack):
    scan_png = SCANS["benign"].read_bytes()
    for _ in range(3):  # warm up: connections, both workers, the models' first runs
        requests.get(stack.url + "/healthz", timeout=10)
        post(stack.url, scan_png)
    slow = SlowClients(stack.port, SLOW_CLIENTS)
    try:
        time.sleep(1.5)  # every slow client connected and mid-body
        healthz = [timed(lambda: requests.get(stack.url + "/healthz", timeout=10)) for _ in range(5)]
        uploads = [timed(lambda: post(stack.url, scan_png)) for _ in range(3)]
        assert slow.thread.is_alive()  # still trickling: nginx holds them all
    finally:
        slow.close()
    assert [r.status_code for _, r in healthz + uploads] == [200] * 8
    print(f"\nunder {SLOW_CLIENTS} slow clients: healthz max {max(t for t, _ in healthz):.3f} s, "
          f"upload max {max(t for t, _ in uploads):.3f} s")
    assert max(t for t, _ in healthz) < HEALTHZ_BOUND_S
    assert max(t for t, _ in uploads) < UPLOAD_BOUND_S


@pytest.mark.parametrize("sent", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # headers never finished
    b"POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc",  # body stalls
])
def test_a_client_that_stalls_is_dropped_after_the_timeout(stack, sent):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=CLIENT_TIMEOUT_S * 10) as sock:
        sock.sendall(sent)
        answer = sock.recv(4096)  # blocks until nginx gives up on the client
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


def test_logs_hold_no_query_string_location_or_patient_data(stack):
    """Runs last in this module: everything above went through the same logs."""
    requests.get(stack.url + "/api/v1/centres", params={"location": "Hamilton, ON"}, timeout=10)
    post(stack.url, dicom_bytes(gray_of(SCANS["normal"]), jpeg=True), "IM000002", location="Hamilton, ON")
    damaged = dicom_bytes(gray_of(SCANS["normal"]))
    post(stack.url, damaged[:len(damaged) // 3], "IM000003")
    time.sleep(0.5)  # let nginx write its access log lines
    log = stack.log()
    assert '"GET /api/v1/centres" 200' in log  # the request was logged, without its query
    for secret in ("Hamilton", "location=", "127.0.0.1:", *PATIENT_SECRETS):
        assert secret not in log.replace(f"127.0.0.1:{stack.port}", "")


def test_sigterm_stops_the_whole_stack_and_removes_its_files(tmp_path):
    running = Stack(tmp_path)
    children = psutil.Process(running.process.pid).children(recursive=True)
    run_dir = running.run_dir()
    assert any("nginx" in c.name() for c in children) and any("python" in c.name() for c in children)
    assert running.stop() == 0
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive and not run_dir.exists()
