"""Serving-runtime benchmark: the same pipeline on LiteRT (served) and on Keras/TensorFlow.

Times `Pipeline.predict_gray` (resize, UNet, mask, classifier) on real BUSI scans, batch of
one, in one process so the ratio is measured under the same load; prints medians of
`--runs` passes, the time to load each runtime and the process RSS after loading it.

    .venv/bin/python -m benchmarks.bench_runtime --data ../shared/data/busi/Dataset_BUSI_with_GT
    .venv/bin/python -m benchmarks.bench_runtime --data DIR --keras-run-dir runs   # + Keras

Keras needs the training checkpoints (`runs/unet_best.keras`, `runs/classifier_best.keras`),
which are not bundled; LiteRT is measured first, before TensorFlow is imported.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

from inference.paths import MODELS_DIR, REPO_ROOT
from inference.pipeline import CARD_FILE, Pipeline
from inference.preprocessing import to_gray_array
from inference.settings import InferenceSettings


def scans(folder: Path, count: int) -> list[np.ndarray]:
    paths = sorted(p for p in folder.glob("**/*.png") if "_mask" not in p.name)[::7][:count]
    return [to_gray_array(Image.open(p)) for p in paths]


def time_pipeline(pipeline: Pipeline, images, runs: int) -> dict:
    pipeline.predict_gray(images[0])  # warm-up: first call plans the graph
    per_image = []
    for _ in range(runs):
        for gray in images:
            start = time.perf_counter()
            pipeline.predict_gray(gray)
            per_image.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": statistics.median(per_image), "p95_ms": float(np.percentile(per_image, 95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "tests" / "fixtures")
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--keras-run-dir", type=Path)
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    images = scans(args.data, args.images)
    rows = {}

    start = time.perf_counter()
    litert = Pipeline.load(args.models)
    rows["LiteRT (served)"] = {"load_s": time.perf_counter() - start,
                               "rss_mb": psutil.Process().memory_info().rss / 1e6,
                               **time_pipeline(litert, images, args.runs)}
    if args.keras_run_dir:
        start = time.perf_counter()
        import keras

        from training.models import keras_runner

        settings = InferenceSettings.from_card(json.loads((args.models / CARD_FILE).read_text()))
        models = [keras.models.load_model(args.keras_run_dir / f"{n}_best.keras", compile=False)
                  for n in ("unet", "classifier")]
        reference = Pipeline(*(keras_runner(m) for m in models), settings)
        rows["Keras / TensorFlow"] = {"load_s": time.perf_counter() - start,
                                      "rss_mb": psutil.Process().memory_info().rss / 1e6,
                                      **time_pipeline(reference, images, args.runs)}
    print(f"{len(images)} BUSI scans x {args.runs} runs, batch of one, whole pipeline from grayscale array\n")
    print("| runtime | p50 ms | p95 ms | load s | process RSS after loading it, MB (cumulative) |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['load_s']:.2f} | {r['rss_mb']:.0f} |")
    if len(rows) == 2:
        lite, ker = rows.values()
        print(f"\nKeras / LiteRT latency ratio (same run): {ker['p50_ms'] / lite['p50_ms']:.2f}")


if __name__ == "__main__":
    main()
