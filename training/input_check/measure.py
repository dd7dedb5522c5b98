"""Measure the bundled input check: false refusals on real scans, refusals of non-ultrasound images.

    .venv/bin/python -m training.input_check.measure [--models models] [--json out.json]

Runs the served check (`InputCheck.load`, LiteRT) on
- the validation and test splits of every source (BUSI, BUS-BRA; the data beside the clone):
  how many are refused (should be ≤ 1% of test) or flagged unfamiliar;
- the non-ultrasound set of `training/input_check/non_ultrasound.py` (images installed packages ship, text
  and web-page screenshots, grey-scale conversions and crops, blank/noise/gradient images):
  how many are refused (should be ≥ 98%), by category, with every one that is not;
and prints the added latency per upload (feature model + score, median of the test scans).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from inference.input_check import REFUSED, UNFAMILIAR, InputCheck
from inference.paths import BUSBRA_DIR, BUSI_DIR, MODELS_DIR
from inference.preprocessing import to_gray_array


def measure_sources(check: InputCheck, roots: list[Path]) -> tuple[dict, list[float]]:
    from training import data
    from training.sources import Source

    results, latencies = {}, []
    for source in map(Source.open, roots):
        for split in ("val", "test"):
            verdicts = []
            wanted = {r["key"] for r in source.manifest["images"] if r["split"] == split}
            for sample in (s for s in data.find_samples(source.root) if s.key in wanted):
                gray = data.load_image(sample)
                start = time.perf_counter()
                verdicts.append(check.check_gray(gray))
                latencies.append((time.perf_counter() - start) * 1000)
            scores = np.array([v.score for v in verdicts])
            results[f"{source.name} {split}"] = {
                "scans": len(verdicts), "refused": sum(v.verdict == REFUSED for v in verdicts),
                "unfamiliar": sum(v.verdict == UNFAMILIAR for v in verdicts),
                "score_median": round(float(np.median(scores)), 4), "score_max": round(float(scores.max()), 4)}
    return results, latencies


def measure_non_ultrasound(check: InputCheck) -> tuple[dict, list[dict]]:
    from training.input_check.non_ultrasound import build

    by_category: dict[str, list] = defaultdict(list)
    let_through = []
    for category, name, image in build():
        verdict = check.check_gray(to_gray_array(image))
        by_category[category].append(verdict)
        if verdict.verdict != REFUSED:
            let_through.append({"category": category, "name": name, **verdict.as_json()})
    summary = {c: {"images": len(v), "refused": sum(x.refused for x in v),
                   "score_min": round(min(x.score for x in v), 4)} for c, v in sorted(by_category.items())}
    everything = [x for v in by_category.values() for x in v]
    summary["all"] = {"images": len(everything), "refused": sum(x.refused for x in everything),
                      "score_min": round(min(x.score for x in everything), 4)}
    return summary, let_through


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.input_check.measure", description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--data", type=Path, nargs="+", default=[BUSI_DIR, BUSBRA_DIR], help="data-set folders")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    check = InputCheck.load(args.models)
    print(f"thresholds: unfamiliar above {check.settings.unfamiliar_above}, "
          f"refused above {check.settings.refuse_above}")
    scans, latencies = measure_sources(check, args.data)
    print("\nreal scans                scans  refused        unfamiliar     score median / max")
    for name, r in scans.items():
        print(f"{name:24s} {r['scans']:6d}  {r['refused']:3d} ({r['refused'] / r['scans']:6.1%})  "
              f"{r['unfamiliar']:3d} ({r['unfamiliar'] / r['scans']:6.1%})  "
              f"{r['score_median']:.4f} / {r['score_max']:.4f}")
    negatives, let_through = measure_non_ultrasound(check)
    print("\nnon-ultrasound           images  refused        lowest score")
    for name, r in negatives.items():
        print(f"{name:24s} {r['images']:6d}  {r['refused']:3d} ({r['refused'] / r['images']:6.1%})  "
              f"{r['score_min']:.4f}")
    for item in let_through:
        print(f"  not refused: {item}")
    latency = {"median_ms": round(float(np.median(latencies)), 1),
               "p95_ms": round(float(np.percentile(latencies, 95)), 1)}
    print(f"\ninput check per upload (features + score, 1 LiteRT thread): median {latency['median_ms']} ms, "
          f"p95 {latency['p95_ms']} ms over {len(latencies)} scans")
    if args.json:
        args.json.write_text(json.dumps({"scans": scans, "non_ultrasound": negatives, "not_refused": let_through,
                                         "latency": latency, "thresholds": check.info()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
