"""Why int8 failed INT8_RULES on the r31 retrain, and whether another int8 conversion passes them.

Every candidate is compared with the float32 file on the validation splits exactly as export
does (`validation_scans`, then `int8_comparison` under the card's calibrated settings): the
classifier on the float32 UNet's masks (identical inputs), the UNet end to end with the float32
classifier. Call time: `LiteRTModel` on one thread, files alternating within each round.

    .venv/bin/python -m experiments.int8_quantization reference --run-dir runs/r31 \\
        --card runs/r31_models/model_card.json --work runs/r31/int8_exp
    ... convert --network classifier --variant full --scans 480 --out WORK/classifier_full480.tflite
    ... debug --network classifier --debug-rows 8 --out WORK/debug_classifier.json   (worst layers first)
    ... convert --network classifier --variant selective --deny-above 0.8 --out WORK/classifier_deny08.tflite
    ... compare --network classifier --file WORK/classifier_deny08.tflite
    ... bench --network classifier --files A.tflite B.tflite

Variants: `full` as export converts (int8 weights and activations, TFLITE_BUILTINS_INT8);
`dynamic` int8 weights only; `selective` full int8 except the layers `debug` measured above
--deny-above quantization steps of error, which stay float. Results and their reading:
experiments/results/int8_quantization/README.md.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.pipeline import LiteRTModel, Pipeline
from inference.preprocessing import classifier_input, unet_input
from inference.settings import InferenceSettings
from training.run import TrainingRun
from training.sources import Source, load_split_data
from training.validation_choices import ValidationScans, int8_comparison, validation_scans

DATA = ("../shared/data/busi/Dataset_BUSI_with_GT", "../shared/data/busbra")


def load_val(sources: list[Source]):
    val = load_split_data(sources, "val", InferenceSettings().square_size)
    return val.images, val.true_masks, val.labels, val.sources


def key(batch: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(batch, dtype=np.float32).tobytes()).hexdigest()


class Remembered:
    """A model whose answers to inputs already seen come from a table (the float32 classifier's
    logits on the reference run): a UNet candidate re-runs the classifier only where its mask moved."""

    def __init__(self, model, table: dict[str, np.ndarray]):
        self.model, self.table = model, table

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        k = key(batch)
        if k not in self.table:
            self.table[k] = self.model(batch)
        return self.table[k]


def keras_models(run_dir: Path) -> dict:
    import keras

    from training.export import ensemble_model

    members = sorted(run_dir.glob("classifier_member[0-9].keras"))
    return {"unet": lambda: keras.models.load_model(run_dir / "unet_best.keras", compile=False),
            "classifier": lambda: ensemble_model([keras.models.load_model(p, compile=False) for p in members])}


def converter_for(model, workdir: str):
    """The converter `model.export(format="litert")` builds (SavedModel, then TFLiteConverter)."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", functools.partial(model.__call__, training=False),
                         input_signature=[tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)])
    archive.write_out(workdir, verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(workdir)
    converter.experimental_enable_resource_variables = True
    return converter


def representative(args, network: str) -> np.ndarray:
    from training import export

    export.REPRESENTATIVE_SCANS = args.scans
    settings = card_settings(args)
    pipeline = Pipeline(LiteRTModel(args.run_dir / "export" / "unet_float32.tflite", 1), None, settings)
    unet, classifier = export.representative_inputs(pipeline, sources(), TrainingRun.load(args.run_dir).seed)
    return unet if network == "unet" else classifier


def rows_of(rows: np.ndarray):
    return lambda: ([row[None].astype(np.float32)] for row in rows)


def layer_errors(model, rows: np.ndarray, debugged: int) -> list[dict]:
    """Full-int8 `model` (calibrated on `rows`) against float, layer by layer on the first
    `debugged` rows: the QuantizationDebugger's statistics per quantized tensor, worst first by
    RMSE in the tensor's own quantization steps (`rmse_over_scale`; rounding alone gives 0.29)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        converter = converter_for(model, tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = rows_of(rows)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=rows_of(rows[:debugged]),
            debug_options=tf.lite.experimental.QuantizationDebugOptions(
                layer_direct_compare_metrics={"scale": lambda float_, quant, scale, zero_point: scale}))
        debugger.run()
    layers = [{"tensor": name, **{k: float(v) for k, v in stats.items()},
               "rmse_over_scale": float(np.sqrt(stats["mean_squared_error"]) / stats["scale"])}
              for name, stats in debugger.layer_statistics.items()]
    return sorted(layers, key=lambda layer: -layer["rmse_over_scale"])


def denied_nodes(layers: list[dict], above: float) -> list[str]:
    """The tensors of `layer_errors` above `above` steps of error, named as the debugger's
    denylist wants them (NumericVerify/{tensor}{digit}:{index}, read as its own
    _get_operand_name_and_index reads it)."""
    return [re.sub(r"\d$", "", layer["tensor"].removeprefix("NumericVerify/").rsplit(":", 1)[0])
            for layer in layers if layer["rmse_over_scale"] > above]


def convert(model, variant: str, rows: np.ndarray | None, float_nodes: list[str]) -> bytes:
    """LiteRT bytes: `full` as export converts (TFLITE_BUILTINS_INT8), `dynamic` int8 weights
    only, `selective` full int8 except `float_nodes` (float ops, quantized around them)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        converter = converter_for(model, tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "dynamic":
            return converter.convert()
        converter.representative_dataset = rows_of(rows)
        if variant == "full":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            return converter.convert()
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=rows_of(rows[:1]),
            debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=float_nodes))
        return debugger.get_nondebug_quantized_model()


def cmd_convert(args):
    model = keras_models(args.run_dir)[args.network]()
    rows = None if args.variant == "dynamic" else representative(args, args.network)
    float_nodes = (denied_nodes(json.loads((args.work / f"debug_{args.network}.json").read_text()), args.deny_above)
                   if args.variant == "selective" else [])
    content = convert(model, args.variant, rows, float_nodes)
    args.out.write_bytes(content)
    print(json.dumps({"wrote": str(args.out), "bytes": len(content)}))


def cmd_debug(args):
    layers = layer_errors(keras_models(args.run_dir)[args.network](), representative(args, args.network),
                          args.debug_rows)
    args.out.write_text(json.dumps(layers, indent=1) + "\n")
    for layer in layers[:args.top]:
        print(f"{layer['rmse_over_scale']:8.3f}  scale {layer['scale']:.4g}  {layer['tensor']}")


def sources() -> list[Source]:
    return [Source.open(root) for root in DATA]


def card_settings(args) -> InferenceSettings:
    return InferenceSettings.from_card(json.loads(args.card.read_text()))


def cmd_reference(args):
    """The float32 pair on validation: its ValidationScans and the classifier's answer per input."""
    settings = card_settings(args)
    images, masks, labels, names = load_val(sources())
    table = {}
    classifier = Remembered(LiteRTModel(args.run_dir / "export" / "classifier_float32.tflite", 1), table)
    scans = validation_scans(Pipeline(LiteRTModel(args.run_dir / "export" / "unet_float32.tflite", 1), classifier,
                                      settings), images, masks, labels, names)
    np.savez(args.work / "reference.npz", sources=scans.sources, labels=scans.labels, logits=scans.logits,
             outlines=scans.outlines, dice=scans.dice, keys=np.array(list(table)),
             answers=np.stack(list(table.values())))


def cmd_compare(args):
    settings = card_settings(args)
    saved = np.load(args.work / "reference.npz")
    reference = ValidationScans(saved["sources"], saved["labels"], saved["logits"], saved["outlines"], saved["dice"])
    images, masks, labels, names = load_val(sources())
    float32 = {name: LiteRTModel(args.run_dir / "export" / f"{name}_float32.tflite", 1)
               for name in ("unet", "classifier")}
    table = dict(zip(saved["keys"], saved["answers"], strict=True))
    models = {"unet": float32["unet"], "classifier": Remembered(float32["classifier"], table)}
    models[args.network] = LiteRTModel(args.file, 1)
    candidate = validation_scans(Pipeline(models["unet"], models["classifier"], settings), images, masks, labels, names)
    np.savez(args.work / f"{args.file.stem}_scans.npz", logits=candidate.logits, outlines=candidate.outlines,
             dice=candidate.dice)
    result = int8_comparison(settings, reference, candidate)
    result.update(network=args.network, file=args.file.name)
    print(json.dumps(result))
    with (args.work / "comparisons.jsonl").open("a") as log:
        log.write(json.dumps(result) + "\n")


def cmd_bench(args):
    """Median wall and CPU ms per call, files alternating (order reversed every other round)."""
    settings = card_settings(args)
    images = load_val(sources())[0][::12]
    pipeline = Pipeline(LiteRTModel(args.run_dir / "export" / "unet_float32.tflite", 1), None, settings)
    squares = [pipeline.square(g) for g in images]
    inputs = ([unet_input(settings, s)[None] for s in squares] if args.network == "unet" else
              [classifier_input(settings, s, pipeline.square_lesion_mask(s))[None] for s in squares])
    models = {path.name: LiteRTModel(path, 1) for path in args.files}
    times = {name: [] for name in models}
    for model in models.values():
        model(inputs[0])
    for round_ in range(args.rounds):
        order = list(models) if round_ % 2 == 0 else list(models)[::-1]
        for name in order:
            for batch in inputs:
                wall, cpu = time.perf_counter(), time.process_time()
                models[name](batch)
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    result = {name: {"wall_ms": 1000 * statistics.median(t[0] for t in ts),
                     "cpu_ms": 1000 * statistics.median(t[1] for t in ts), "calls": len(ts)}
              for name, ts in times.items()}
    print(json.dumps({"network": args.network, **result}))
    with (args.work / "bench.jsonl").open("a") as log:
        log.write(json.dumps({"network": args.network, **result}) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("reference", "convert", "debug", "compare", "bench"))
    parser.add_argument("--run-dir", type=Path, default=Path("runs/r31"))
    parser.add_argument("--card", type=Path, default=Path("runs/r31_models/model_card.json"))
    parser.add_argument("--work", type=Path, default=Path("runs/r31/int8_exp"))
    parser.add_argument("--network", choices=("unet", "classifier"), default="classifier")
    parser.add_argument("--variant", choices=("full", "dynamic", "selective"), default="full")
    parser.add_argument("--scans", type=int, default=96, help="representative training scans")
    parser.add_argument("--deny-above", type=float, default=0.8,
                        help="selective: keep float every layer above this error (quantization steps)")
    parser.add_argument("--debug-rows", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--files", type=Path, nargs="*")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    {"reference": cmd_reference, "convert": cmd_convert, "debug": cmd_debug, "compare": cmd_compare,
     "bench": cmd_bench}[args.command](args)


if __name__ == "__main__":
    main()
