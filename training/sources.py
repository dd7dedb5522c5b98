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

from app.preprocessing import CLASS_NAMES
from training import data

MANIFEST_DIR = Path(__file__).resolve().parent


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

    def where(self, source: str) -> np.ndarray:
        return np.array([s == source for s in self.sources])


def load_split_data(sources: list[Source], split: str) -> SplitData:
    """`split` of every source, concatenated in the order given."""
    parts = {"samples": [], "sources": [], "images": [], "true_masks": [], "groups": []}
    for source in sources:
        samples, images, masks = data.load_split(source.root, source.manifest, split)
        group_of = {r["key"]: r["group"] for r in source.manifest["images"]}
        parts["samples"] += samples
        parts["sources"] += [source.name] * len(samples)
        parts["images"] += images
        parts["true_masks"] += masks
        parts["groups"] += [f"{source.name}:{group_of[s.key]}" for s in samples]
    squares, square_masks = data.to_squares(parts["images"], parts["true_masks"])
    labels = np.array([CLASS_NAMES.index(s.label) for s in parts["samples"]], dtype=int)
    return SplitData(squares=squares, square_masks=square_masks, labels=labels, **parts)
