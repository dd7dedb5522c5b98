"""Several data sets trained on together, each split by its own committed manifest.

A source is a data-set folder (BUSI or BUS-BRA layout, see `training.data`) and its
manifest, `training/split_manifest_<source>.json`. Training concatenates the sources'
training splits; validation and test stay per source, so every number can be reported
for each hospital separately.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.paths import MANIFEST_DIR
from inference.preprocessing import resize_for_model
from inference.settings import CLASS_NAMES
from training import data

# How each data set is cited wherever it is used (its licence asks for it).
CITATIONS = {
    "busi": "Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound images. "
            "Data in Brief 28:104863, 2020. doi:10.1016/j.dib.2019.104863 (CC0)",
    "busbra": "Gómez-Flores W, Gregorio-Calas MJ, Coelho de Albuquerque Pereira W. BUS-BRA: a breast "
              "ultrasound dataset for assessing computer-aided diagnosis systems. Medical Physics, 2024 "
              "(MIT-style licence, citation required)",
}


def manifest_path(source: str, manifest_dir: Path = MANIFEST_DIR) -> Path:
    return manifest_dir / f"split_manifest_{source}.json"


@dataclass(frozen=True)
class Source:
    name: str  # "busi" or "busbra"
    root: Path
    manifest: dict

    @classmethod
    def open(cls, root: str | Path, manifest_dir: Path = MANIFEST_DIR) -> "Source":
        """The data set at `root` with its committed manifest (a clear error when it has none)."""
        name = data.source_name(root)
        path = manifest_path(name, manifest_dir)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `python -m training split --data {root}` first")
        return cls(name, Path(root), json.loads(path.read_text()))


@dataclass
class SplitData:
    """One split of one or more sources, as the models see it (MODEL_SIZE squares)."""

    samples: list[data.Sample]
    sources: list[str]
    images: list[np.ndarray]  # full-size grey scans (evaluation draws on them)
    true_masks: list[np.ndarray]
    squares: np.ndarray
    square_masks: np.ndarray
    labels: np.ndarray
    groups: list[str]  # "<source>:<group>": images that must stay together

    def where(self, source: str | None) -> np.ndarray:
        """Row mask of `source`'s images (every row for None)."""
        return np.array([source in (None, s) for s in self.sources], dtype=bool)


def load_split_data(sources: list[Source], split: str, square_size: int) -> SplitData:
    """`split` of every source, concatenated in the order given, with squares of `square_size`
    (the pipeline's `InferenceSettings.square_size`)."""
    parts = {"samples": [], "sources": [], "images": [], "true_masks": [], "groups": []}
    for source in sources:
        samples, images, masks = data.load_split(source.root, source.manifest, split)
        group_of = {r["key"]: r["group"] for r in source.manifest["images"]}
        parts["samples"] += samples
        parts["sources"] += [source.name] * len(samples)
        parts["images"] += images
        parts["true_masks"] += masks
        parts["groups"] += [f"{source.name}:{group_of[s.key]}" for s in samples]
    squares = np.stack([resize_for_model(img, square_size) for img in parts["images"]])
    square_masks = np.stack([resize_for_model(m.astype(np.uint8) * 255, square_size) > 127
                             for m in parts["true_masks"]])
    labels = np.array([CLASS_NAMES.index(s.label) for s in parts["samples"]], dtype=int)
    return SplitData(squares=squares, square_masks=square_masks, labels=labels, **parts)


def describe(sources: list[Source]) -> dict:
    """What run.json and the model card say about the data: per source, its citation,
    split counts, manifest hash and split seed."""
    return {source.name: {"citation": CITATIONS[source.name], "counts": source.manifest["counts"],
                          "manifest_sha256": data.manifest_hash(source.manifest), "seed": source.manifest["seed"]}
            for source in sources}
