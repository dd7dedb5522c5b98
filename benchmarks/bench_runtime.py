"""Serving-runtime benchmark: the same pipeline on LiteRT (served) and on Keras/TensorFlow, or
each model's call time for any LiteRT files (float32 against int8, say).

Times `Pipeline.predict_gray` (resize, UNet, mask, classifier) on real BUSI scans, batch of
one, in one process so the ratio is measured under the same load; prints medians of
`--runs` passes, the time to load each runtime and the process RSS after loading it.

    .venv/bin/python -m benchmarks.bench_runtime --data ../shared/data/busi/Dataset_BUSI_with_GT
    .venv/bin/python -m benchmarks.bench_runtime --data DIR --keras-run-dir runs   # + Keras

Keras needs the training checkpoints (`runs/unet_best.keras`, `runs/classifier_best.keras`),
which are not bundled; LiteRT is measured first, before TensorFlow is imported.

`--calls` times each model call instead (`LiteRTModel`, as the pipeline calls it, `--threads`
interpreter threads): the bundled UNet, classifier and input check, and beside each the files
given with `--unet`, `--classifier` or `--input-check`, on the inputs the served pipeline
builds from the scans. Files alternate in each round (reversed every other round); it prints
the median CPU and wall time per call and each file's CPU ratio to the bundled one:

    .venv/bin/python -m benchmarks.bench_runtime --data DIR --calls --classifier classifier_int8.tflite
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

from inference.input_check import InputCheck
from inference.paths import MODELS_DIR, REPO_ROOT
from inference.pipeline import CARD_FILE, CLASSIFIER_FILE, UNET_FILE, LiteRTModel, Pipeline
from inference.preprocessing import classifier_input, to_gray_array, unet_input
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


def model_inputs(pipeline: Pipeline, check: InputCheck, images) -> dict[str, list[np.ndarray]]:
    """Each model's batch-of-one inputs for the scans, built as the served pipeline builds them
    (the classifier's from the bundled UNet's mask)."""
    inputs = defaultdict(list)
    for gray in images:
        square = pipeline.square(gray)
        mask = pipeline.square_lesion_mask(square)
        inputs["unet"].append(unet_input(pipeline.settings, square)[None])
        inputs["classifier"].append(classifier_input(pipeline.settings, square, mask)[None])
        inputs["input check"].append(check.input(gray)[None])
    return inputs


def int8_share(path: Path) -> float:
    """The share of the file's tensors that are 8-bit integers (about all of them when activations
    are int8 too; weights only in a dynamic-range file)."""
    from ai_edge_litert.interpreter import Interpreter

    dtypes = [t["dtype"] for t in Interpreter(model_path=str(path)).get_tensor_details()]
    return sum(d in (np.int8, np.uint8) for d in dtypes) / len(dtypes)


def time_calls(files: list[tuple[str, Path]], inputs: dict, runs: int, threads: int) -> dict:
    """(model, file) -> [(CPU ms, wall ms)] per call; files alternate within each round."""
    runners = {key: LiteRTModel(key[1], threads) for key in files}
    for (model, _), run in runners.items():
        run(inputs[model][0])  # warm-up: the first call plans the graph
    samples = defaultdict(list)
    for round_index in range(runs):
        for key in files if round_index % 2 == 0 else files[::-1]:
            for batch in inputs[key[0]]:
                cpu, wall = time.thread_time(), time.perf_counter()
                runners[key](batch)
                samples[key].append(((time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000))
    return samples


def print_call_times(args, images) -> None:
    pipeline, check = Pipeline.load(args.models), InputCheck.load(args.models)
    bundled = {"unet": UNET_FILE, "classifier": CLASSIFIER_FILE, "input check": check.settings.feature_model}
    given = {"unet": args.unet, "classifier": args.classifier, "input check": args.input_check}
    files = [(model, path) for model, name in bundled.items()
             for path in dict.fromkeys(p.resolve() for p in [args.models / name, *given[model]])]
    samples = time_calls(files, model_inputs(pipeline, check, images), args.runs, args.threads)
    print(f"{len(images)} BUSI scans x {args.runs} alternating rounds, batch of one, {args.threads} LiteRT "
          f"thread(s), one call each\n")
    print("| model | file | int8 tensors | CPU ms per call (median) | wall ms (median) | CPU vs bundled |")
    print("|---|---|---:|---:|---:|---:|")
    for model, path in files:
        cpu = statistics.median(c for c, _ in samples[model, path])
        wall = statistics.median(w for _, w in samples[model, path])
        reference = (args.models / bundled[model]).resolve()
        name = f"bundled {path.name}" if path == reference else str(path)
        ratio = cpu / statistics.median(c for c, _ in samples[model, reference])
        print(f"| {model} | {name} | {int8_share(path):.0%} | {cpu:.1f} | {wall:.1f} | {ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "tests" / "fixtures")
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--keras-run-dir", type=Path)
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", action="store_true", help="time each model call instead of the pipeline")
    for option in ("--unet", "--classifier", "--input-check"):
        parser.add_argument(option, type=Path, nargs="+", default=[], metavar="TFLITE",
                            help="with --calls: also time these files as that model")
    parser.add_argument("--threads", type=int, default=1, help="with --calls: LiteRT threads per interpreter")
    args = parser.parse_args()
    images = scans(args.data, args.images)
    if args.calls:
        print_call_times(args, images)
        return
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
