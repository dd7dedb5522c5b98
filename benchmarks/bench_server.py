"""Serve-time benchmark: latency, throughput, start-up time and memory of the web app.

Starts gunicorn with gunicorn.conf.py (or measures a running server with --url), uploads
real BUSI scans to POST /api/v1/predict and prints a Markdown table:

    .venv/bin/python -m benchmarks.bench_server                  # 2 workers, as deployed
    .venv/bin/python -m benchmarks.bench_server --runs 3 --no-preload
    .venv/bin/python -m benchmarks.bench_server --url http://127.0.0.1:8000
    .venv/bin/python -m benchmarks.bench_server --repo /tmp/other-checkout  # its config, app and models

`benchmarks.compare_server` runs it against this checkout and a reference commit side by side.

The client runs on the same machine and takes some CPU from the server: the numbers are a
floor for a host that only serves. Model share = (segment + classify time, from the
Server-Timing header) / client-measured request latency. "Server CPU per upload" (the
workers' CPU time over all uploads / their number) does not depend on what else runs on
the machine: 2 cores / that time is what two workers could serve on an otherwise idle host.
A failed upload (an error status or no answer) is counted, not timed. Rate limits are off
(BUSI_RATE_LIMIT=0): this is one client sending as fast as it can.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from inference.paths import BUSI_DIR
from inference.paths import REPO_ROOT as REPO

FALLBACK_DIR = REPO / "tests" / "fixtures"
PREDICT, HEALTH = "/api/v1/predict", "/healthz"


def load_scans(folder: Path, count: int) -> list[bytes]:
    paths = sorted(p for p in folder.glob("**/*.png") if "_mask" not in p.name)
    if not paths:
        sys.exit(f"no scans in {folder}")
    step = max(1, len(paths) // count)  # spread over the classes (folders sort by class)
    return [p.read_bytes() for p in paths[::step][:count]]


def start_server(port: int, workers: int, repo: Path = REPO, overrides: dict[str, str] | None = None):
    """gunicorn as deployed from the checkout `repo` (its gunicorn.conf.py, app and models), with
    `overrides` of its BUSI_* settings; returns (process, seconds from spawn to a 200 from /healthz)."""
    with socket.socket() as probe:  # a server left on the port would be measured instead
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"port {port} is already in use")
    env = {**os.environ, "BUSI_BIND": f"127.0.0.1:{port}", "BUSI_WORKERS": str(workers), "BUSI_RATE_LIMIT": "0",
           **(overrides or {})}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"]
    started = time.perf_counter()
    server = subprocess.Popen([*command, "wsgi:app"], cwd=repo, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 60 and server.poll() is None:
        try:  # the master's socket accepts at once; a worker answers once its models load
            if requests.get(url + HEALTH, timeout=0.5).ok:
                return server, time.perf_counter() - started
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.02)
    server.kill()
    sys.exit("gunicorn exited or was not ready within 60 s")


def wait_for_all_workers(server: subprocess.Popen, workers: int) -> list[psutil.Process]:
    """/healthz answers as soon as one worker is up; memory is read once all are."""
    master = psutil.Process(server.pid)
    for _ in range(300):
        children = master.children()
        if len(children) == workers:
            return children
        time.sleep(0.05)
    return master.children()


def upload(session: requests.Session, url: str, scan: bytes) -> tuple[float, float] | None:
    """(request ms as the client saw it, model ms from Server-Timing), or None when it failed."""
    start = time.perf_counter()
    try:
        response = session.post(url + PREDICT, files={"image": ("scan.png", scan, "image/png")}, timeout=30)
    except requests.RequestException:
        return None
    elapsed = (time.perf_counter() - start) * 1000
    if not response.ok:
        return None
    model = sum(float(part.split("dur=")[1]) for part in response.headers["Server-Timing"].split(","))
    return elapsed, model


def latency(url: str, scans: list[bytes], count: int) -> dict:
    session = requests.Session()
    answers = [upload(session, url, scans[i % len(scans)]) for i in range(count)]
    samples = [answer for answer in answers if answer is not None]
    if not samples:
        return {"failed": count}
    times = sorted(t for t, _ in samples)
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
            "model_share": sum(m for _, m in samples) / sum(times), "failed": count - len(samples)}


def throughput(url: str, scans: list[bytes], concurrency: int, count: int) -> tuple[float, int]:
    """(uploads per second, failed uploads) with `concurrency` clients, each on its own
    keep-alive connection."""
    sessions = [requests.Session() for _ in range(concurrency)]

    def client(index: int) -> int:
        return sum(upload(sessions[index], url, scans[i % len(scans)]) is None
                   for i in range(index, count, concurrency))

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        failed = sum(pool.map(client, range(concurrency)))
    return count / (time.perf_counter() - start), failed


def worker_cpu_seconds(workers: list[psutil.Process]) -> float:
    return sum(sum(w.cpu_times()[:2]) for w in workers)  # user + system


def overrides(args) -> dict[str, str]:
    """The settings given on the command line; the others are the checkout's own."""
    given = {"BUSI_THREADS": args.threads, "BUSI_MODEL_THREADS": args.model_threads,
             "BUSI_PRELOAD": None if args.preload else 0}
    return {name: str(value) for name, value in given.items() if value is not None}


def run_once(args, scans: list[bytes]) -> dict:
    result, server, url = {}, None, args.url
    if url is None:
        server, result["ready_s"] = start_server(args.port, args.workers, args.repo, overrides(args))
        workers = wait_for_all_workers(server, args.workers)
        url = f"http://127.0.0.1:{args.port}"
    try:
        for scan in scans[:10]:  # warm-up: first invocations allocate and fill caches
            upload(requests.Session(), url, scan)
        cpu_before = worker_cpu_seconds(workers) if server is not None else 0.0
        result.update(latency(url, scans, args.requests))
        for concurrency in args.concurrency:
            result[f"c{concurrency}"], failed = throughput(url, scans, concurrency, args.requests)
            result["failed"] += failed
        if server is not None:
            uploads = args.requests * (1 + len(args.concurrency))
            result["cpu_ms"] = (worker_cpu_seconds(workers) - cpu_before) * 1000 / uploads
            result["rss_mb"] = max(w.memory_info().rss for w in workers) / 2**20
            result["uss_mb"] = max(w.memory_full_info().uss for w in workers) / 2**20
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    return result


ROWS = [("ready_s", "start to ready (/healthz 200)", "{:.2f} s"),
        ("p50", "latency p50, concurrency 1", "{:.0f} ms"),
        ("p95", "latency p95, concurrency 1", "{:.0f} ms"),
        ("model_share", "share of request time in the models", "{:.0%}"),
        ("failed", "failed uploads (error status or no answer)", "{:.0f}"),
        ("cpu_ms", "server CPU per upload", "{:.0f} ms"),
        ("rss_mb", "RSS per worker (largest)", "{:.0f} MB"),
        ("uss_mb", "USS per worker (largest; memory only it holds)", "{:.0f} MB")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="measure this running server instead of starting gunicorn")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="serve this checkout (its gunicorn.conf.py, app code and models)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, help="threads per worker (default: gunicorn.conf.py's)")
    parser.add_argument("--model-threads", type=int, help="LiteRT threads (default: the model card's)")
    parser.add_argument("--no-preload", dest="preload", action="store_false",
                        help="each worker loads the models itself (gunicorn.conf.py preloads)")
    parser.add_argument("--requests", type=int, default=60, help="uploads per measurement (>= 50)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--runs", type=int, default=1, help="repeat and report medians")
    parser.add_argument("--scans", type=Path, default=BUSI_DIR if BUSI_DIR.is_dir() else FALLBACK_DIR)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()

    scans = load_scans(args.scans, 60)
    load_before = os.getloadavg()[0]
    runs = [run_once(args, scans) for _ in range(args.runs)]
    rows = ROWS[:4] + [(f"c{c}", f"throughput, concurrency {c}", "{:.1f} uploads/s")
                       for c in args.concurrency] + ROWS[4:]
    setup = (f"{args.repo}: {args.workers} workers, {overrides(args) or 'otherwise as configured'}"
             if args.url is None else args.url)
    print(f"\n{setup}; {len(scans)} BUSI scans, {args.requests} uploads per measurement, "
          f"median of {args.runs} run(s), {os.cpu_count()} CPUs, load average {load_before:.1f} before\n")
    print("| measure | value |\n|---|---|")
    for key, name, fmt in rows:
        if values := [r[key] for r in runs if key in r]:
            print(f"| {name} | {fmt.format(statistics.median(values))} |")


if __name__ == "__main__":
    main()
