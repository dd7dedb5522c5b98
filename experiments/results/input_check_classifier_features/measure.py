"""Could the input check read the served classifier's pooled features (free: the classifier runs
anyway) instead of its own ImageNet EfficientNet-Lite0 (about 9 ms CPU an upload)? Issue 26 asks
to keep it only if it still refuses every non-ultrasound image of training/input_check/non_ultrasound.py.

The same kNN-cosine method, neighbours and threshold rule as `training.input_check.fit`, on the
bundled models/classifier.tflite pooled features (scan view, lesion view, both concatenated),
read through LiteRT's preserved tensors; the classifier's input built as served (the bundled
UNet's mask). A one-off measurement (output.txt beside it):

    .venv/bin/python -m experiments.results.input_check_classifier_features.measure
"""
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from inference.input_check import Reference
from inference.paths import BUSBRA_DIR, BUSI_DIR
from inference.pipeline import Pipeline
from inference.preprocessing import classifier_input, to_gray_array
from training import data
from training.input_check.fit import NEIGHBOURS, choose_thresholds
from training.input_check.non_ultrasound import build
from training.sources import Source

pipe = Pipeline.load("models")
it = Interpreter(model_path="models/classifier.tflite", num_threads=1, experimental_preserve_all_tensors=True)
it.allocate_tensors()
inp = it.get_input_details()[0]["index"]
names = {t["name"]: t["index"] for t in it.get_tensor_details()}
TENSORS = {kind: next(index for name, index in names.items() if part in name)
           for kind, part in (("scan view", "backbone_1/avg_pool_1/Mean"),
                              ("lesion view", "backbone_3/avg_pool_1/Mean"),
                              ("both views", "fused_features_1/concat"))}


def feats(gray):
    square = pipe.square(gray)
    batch = classifier_input(pipe.settings, square, pipe.square_lesion_mask(square))[None]
    it.set_tensor(inp, batch.astype(np.float32))
    it.invoke()
    return {kind: it.get_tensor(index)[0].copy() for kind, index in TENSORS.items()}


def split_feats(source, split):
    wanted = {r["key"] for r in source.manifest["images"] if r["split"] == split}
    rows = [feats(data.load_image(s)) for s in data.find_samples(source.root) if s.key in wanted]
    return {kind: np.stack([r[kind] for r in rows]) for kind in TENSORS}


sources = [Source.open(r) for r in (BUSI_DIR, BUSBRA_DIR)]
splits = {(s.name, split): split_feats(s, split) for s in sources for split in ("train", "val", "test")}
non = [(c, n, feats(to_gray_array(im))) for c, n, im in build()]
for kind in TENSORS:
    ref = Reference.fit(np.concatenate([splits[s.name, "train"][kind] for s in sources]), NEIGHBOURS)
    unfamiliar, refuse = choose_thresholds({s.name: ref.scores(splits[s.name, "val"][kind]) for s in sources})
    print(f"\n== {kind}: unfamiliar above {unfamiliar:.4f}, refuse above {refuse:.4f} "
          f"({len(ref.features)} reference scans)")
    for s in sources:
        for split in ("val", "test"):
            sc = ref.scores(splits[s.name, split][kind])
            print(f"  {s.name} {split}: n {len(sc)} refused {(sc > refuse).sum()} "
                  f"unfamiliar {((sc > unfamiliar) & (sc <= refuse)).sum()} "
                  f"median {np.median(sc):.4f} max {sc.max():.4f}")
    scores = np.array([ref.scores(f[kind][None])[0] for _, _, f in non])
    print(f"  non-ultrasound: {len(non)} images, refused {(scores > refuse).sum()}, lowest {scores.min():.4f}")
    for (c, n, _), s in zip(non, scores, strict=True):
        if s <= refuse:
            print("    let through:", c, n, round(float(s), 4))
