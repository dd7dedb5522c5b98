"""Could the input check read the served UNet's own pooled encoder features (free: the UNet runs
anyway) instead of its own ImageNet Lite0 (5 ms a scan)? The same kNN-cosine method, neighbours
and threshold rule as `training.input_check`, on the bundled `models/unet.tflite` top activation
(1280 channels, average-pooled), read through LiteRT's preserved tensors. A one-off measurement:

    .venv/bin/python -m experiments.results.input_check_unet_features.measure
"""
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from inference.input_check import Reference
from inference.pipeline import Pipeline
from inference.preprocessing import to_gray_array, unet_input
from training import data
from training.input_check.fit import choose_thresholds
from training.input_check.non_ultrasound import build
from training.sources import Source

pipe = Pipeline.load("models")
it = Interpreter(model_path="models/unet.tflite", num_threads=1, experimental_preserve_all_tensors=True)
it.allocate_tensors()
inp = it.get_input_details()[0]["index"]
top = [t["index"] for t in it.get_tensor_details() if "top_activation" in t["name"] and len(t["shape"]) == 4][0]

def feats(gray):
    it.set_tensor(inp, unet_input(pipe.settings, pipe.square(gray))[None].astype(np.float32))
    it.invoke()
    return it.get_tensor(top)[0].mean(axis=(0, 1))

def split_feats(source, split):
    wanted = {r["key"] for r in source.manifest["images"] if r["split"] == split}
    return np.stack([feats(data.load_image(s)) for s in data.find_samples(source.root) if s.key in wanted])

sources = [Source.open(r) for r in ("../shared/data/busi/Dataset_BUSI_with_GT", "../shared/data/busbra")]
train = np.concatenate([split_feats(s, "train") for s in sources])
ref = Reference.fit(train, 5)
val = {s.name: ref.scores(split_feats(s, "val")) for s in sources}
test = {s.name: ref.scores(split_feats(s, "test")) for s in sources}
unfamiliar, refuse = choose_thresholds(val)
print(f"unfamiliar above {unfamiliar:.4f}, refuse above {refuse:.4f}")
for name in val:
    for split, sc in (("val", val[name]), ("test", test[name])):
        print(f"{name} {split}: n {len(sc)} refused {(sc > refuse).sum()} "
              f"unfamiliar {((sc > unfamiliar) & (sc <= refuse)).sum()} median {np.median(sc):.4f} max {sc.max():.4f}")
non = [(c, n, ref.scores(feats(to_gray_array(im))[None])[0]) for c, n, im in build()]
scores = np.array([s for _, _, s in non])
print(f"non-ultrasound: {len(non)} images, refused {(scores > refuse).sum()}, lowest {scores.min():.4f}")
for c, n, s in non:
    if s <= refuse:
        print("  let through:", c, n, round(float(s), 4))
