"""Soak benchmark: minutes of uploads at a steady concurrency, one bad input in ten, memory sampled.

Starts gunicorn with gunicorn.conf.py as bench_server does (rate limit off) and keeps
`--concurrency` clients uploading real BUSI scans for `--minutes`; every tenth upload is a bad
input (a PNG cut short, a text file, an empty file, an image too small), which must get a 4xx.
The workers' RSS is sampled every `--sample-s` seconds. Prints requests, errors (a 5xx, no
answer, a good scan not answered 200, a bad input not answered 4xx), latency and the RSS drift
from the first sample (after warm-up) to the last: a leak shows as a drift that keeps growing.

    .venv/bin/python -m benchmarks.soak                       # 8 minutes at 4 concurrent uploads
    .venv/bin/python -m benchmarks.soak --minutes 2 --concurrency 8
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from PIL import Image

from benchmarks.bench_server import FALLBACK_DIR, PREDICT, load_scans, start_server, wait_for_all_workers
from inference.paths import BUSI_DIR


def bad_inputs(scan: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of uploads the app must refuse with a 4xx."""
    tiny = io.BytesIO()
    Image.new("L", (32, 32)).save(tiny, "PNG")
    return [("cut_short", scan[:300]), ("text", b"not an image\n" * 20), ("empty", b""),
            ("too_small", tiny.getvalue())]


class Soak:
    """The clients and their tally; `run` returns when the time is up."""

    def __init__(self, url: str, scans: list[bytes], bad_every: int):
        self.url, self.scans, self.bad_every = url, scans, bad_every
        self.bad = bad_inputs(scans[0])
        self.lock = threading.Lock()
        self.sent = 0
        self.outcomes: Counter[str] = Counter()
        self.latencies_ms: list[float] = []

    def _next(self) -> int:
        with self.lock:
            self.sent += 1
            return self.sent

    def _one(self, session: requests.Session, number: int) -> None:
        bad = number % self.bad_every == 0
        name, data = (self.bad[number // self.bad_every % len(self.bad)] if bad
                      else ("scan", self.scans[number % len(self.scans)]))
        start = time.perf_counter()
        try:
            status = session.post(self.url + PREDICT, files={"image": ("upload.png", data)}, timeout=60).status_code
        except requests.RequestException:
            status = 0
        elapsed = (time.perf_counter() - start) * 1000
        ok = 400 <= status < 500 if bad else status == 200
        with self.lock:
            self.outcomes[f"{'bad' if bad else 'good'} {name} {status}"] += 1
            self.outcomes["errors"] += not ok
            if not bad and ok:
                self.latencies_ms.append(elapsed)

    def run(self, concurrency: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds

        def client(_) -> None:
            session = requests.Session()
            while time.monotonic() < deadline:
                self._one(session, self._next())

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(client, range(concurrency)))


def sample_rss(workers: list[psutil.Process], every_s: float, stop: threading.Event, samples: list) -> None:
    """(seconds since start, MB summed over the workers) every `every_s` until `stop`."""
    start = time.monotonic()
    while not stop.wait(every_s):
        samples.append((time.monotonic() - start, sum(w.memory_info().rss for w in workers) / 2**20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--bad-every", type=int, default=10, help="one upload in this many is a bad input")
    parser.add_argument("--sample-s", type=float, default=15, help="seconds between two RSS samples")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--scans", type=Path, default=BUSI_DIR if BUSI_DIR.is_dir() else FALLBACK_DIR)
    args = parser.parse_args()

    scans = load_scans(args.scans, 60)
    server, _ = start_server(args.port, args.workers)
    try:
        workers = wait_for_all_workers(server, args.workers)
        url = f"http://127.0.0.1:{args.port}"
        Soak(url, scans, args.bad_every).run(args.concurrency, 10)  # warm-up, not counted
        pids = {w.pid for w in workers}
        cpu_before = sum(sum(w.cpu_times()[:2]) for w in workers)
        samples = [(0.0, sum(w.memory_info().rss for w in workers) / 2**20)]
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(workers, args.sample_s, stop, samples))
        load_before = os.getloadavg()[0]
        sampler.start()
        soak = Soak(url, scans, args.bad_every)
        started = time.monotonic()
        soak.run(args.concurrency, args.minutes * 60)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        cpu_ms = (sum(sum(w.cpu_times()[:2]) for w in workers) - cpu_before) * 1000 / soak.sent
        samples.append((elapsed, sum(w.memory_info().rss for w in workers) / 2**20))
        restarted = {p.pid for p in psutil.Process(server.pid).children()} != pids
    finally:
        server.terminate()
        server.wait(30)

    times = sorted(soak.latencies_ms)
    first, last = samples[0][1], samples[-1][1]
    print(f"\n{args.minutes:g} min at {args.concurrency} concurrent uploads, {args.workers} workers, one bad input in "
          f"{args.bad_every}; {os.cpu_count()} CPUs, load average {load_before:.1f} before\n")
    print(f"requests: {soak.sent} ({soak.sent / elapsed:.1f}/s), errors: {soak.outcomes['errors']}, "
          f"workers restarted: {'yes' if restarted else 'no'}")
    for outcome, count in sorted(soak.outcomes.items()):
        if outcome != "errors":
            print(f"  {outcome}: {count}")
    print(f"latency of good uploads: p50 {statistics.median(times):.0f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.0f} ms; server CPU per upload {cpu_ms:.0f} ms")
    settled = next((mb for t, mb in samples if t >= 60), first)  # the allocator grows to its working set first
    print(f"workers' RSS (MB, summed): first {first:.0f}, last {last:.0f}, max {max(s for _, s in samples):.0f}; "
          f"drift {100 * (last - first) / first:+.1f}%, from 60 s on {100 * (last - settled) / settled:+.1f}%")
    print("samples (s: MB): " + ", ".join(f"{t:.0f}: {mb:.0f}" for t, mb in samples))


if __name__ == "__main__":
    main()
