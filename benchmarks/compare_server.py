"""Side-by-side serve benchmark: this checkout against a reference commit, alternating rounds.

Extracts the reference commit (`git archive`, default cc4ab54: main before issue 26) into a
temporary folder, then runs `benchmarks.bench_server` on each checkout in turn, each served
from its own gunicorn.conf.py, app code and models with 2 workers (rate limits off), the
order flipped every round, on real BUSI scans. Prints each round's numbers as it goes, then
the medians over the rounds and the ratios candidate / reference beside issue 26's bars:

    .venv/bin/python -m benchmarks.compare_server                   # 6 rounds, 60 uploads each
    .venv/bin/python -m benchmarks.compare_server --reference e397fed --rounds 3 | tee log.txt

One client on the same machine measures both, so run it with nothing else running; a single
round's numbers are noisy, the ratios of medians over alternating rounds much less so.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import tarfile
import tempfile
from pathlib import Path

from benchmarks import bench_server
from inference.paths import REPO_ROOT

# (key, measure, format, bar on candidate / reference: (at most, at least))
MEASURES = [("cpu_ms", "server CPU per upload", "{:.1f} ms", (0.45, None)),
            ("c4", "throughput, concurrency 4", "{:.1f} uploads/s", (None, 2.0)),
            ("p50", "latency p50, concurrency 1", "{:.1f} ms", (0.75, None)),
            ("p95", "latency p95, concurrency 1", "{:.1f} ms", (None, None)),
            ("c1", "throughput, concurrency 1", "{:.1f} uploads/s", (None, None)),
            ("rss_mb", "RSS per worker (largest)", "{:.0f} MB", (1.0, None)),
            ("uss_mb", "USS per worker (largest)", "{:.0f} MB", (None, None)),
            ("ready_s", "start to ready", "{:.2f} s", (None, None))]


def extract(commit: str, folder: Path) -> Path:
    """The commit's tracked files (models included) in `folder`; no worktree to clean up."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPO_ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def bar_text(ratio: float, bar: tuple[float | None, float | None]) -> str:
    at_most, at_least = bar
    if at_most is not None:
        return f"≤ {at_most:g}: {'met' if ratio <= at_most else 'NOT met'}"
    if at_least is not None:
        return f"≥ {at_least:g}: {'met' if ratio >= at_least else 'NOT met'}"
    return ""


def median(runs: list[dict], key: str) -> float | None:
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else None


def report(results: dict[str, list[dict]], names: dict[str, str]) -> None:
    reference, candidate = results["reference"], results["candidate"]
    print(f"\nMedians of {len(reference)} alternating rounds; reference {names['reference']}, "
          f"candidate {names['candidate']}\n")
    print("| measure | reference | candidate | candidate / reference | bar |\n|---|---:|---:|---:|---|")
    for key, name, fmt, bar in MEASURES:
        ref, new = median(reference, key), median(candidate, key)
        if ref is None or new is None:  # every upload of a side failed
            print(f"| {name} | {ref} | {new} | | |")
            continue
        print(f"| {name} | {fmt.format(ref)} | {fmt.format(new)} | {new / ref:.2f} | {bar_text(new / ref, bar)} |")
    failed = {side: sum(r["failed"] for r in runs) for side, runs in results.items()}
    print(f"| failed uploads (all rounds) | {failed['reference']} | {failed['candidate']} | | "
          f"0: {'met' if failed['candidate'] == 0 else 'NOT met'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", default="cc4ab54", help="commit to compare against")
    parser.add_argument("--candidate", type=Path, default=REPO_ROOT,
                        help="checkout to measure (default: this working tree, as it is)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=60, help="uploads per measurement")
    parser.add_argument("--scans", type=Path, default=bench_server.BUSI_DIR if bench_server.BUSI_DIR.is_dir()
                        else bench_server.FALLBACK_DIR)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    scans = bench_server.load_scans(args.scans, 60)
    with tempfile.TemporaryDirectory(prefix="compare-server-") as tmp:
        trees = {"reference": extract(args.reference, Path(tmp)), "candidate": args.candidate.resolve()}
        results = {side: [] for side in trees}
        for round_index in range(args.rounds):
            for side in (("reference", "candidate") if round_index % 2 == 0 else ("candidate", "reference")):
                bench = bench_server.parse_args(["--repo", str(trees[side]), "--workers", "2", "--port",
                                                 str(args.port), "--requests", str(args.requests),
                                                 "--concurrency", "1", "4"])
                load = os.getloadavg()[0]
                result = bench_server.run_once(bench, scans)
                results[side].append(result)
                print(f"round {round_index + 1} {side}: load {load:.1f}, "
                      + ", ".join(f"{key} {result[key]:.4g}" for key in sorted(result)), flush=True)
    report(results, {"reference": args.reference, "candidate": str(args.candidate)})


if __name__ == "__main__":
    main()
