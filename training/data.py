"""BUSI loading, near-duplicate grouping and the group-aware split.

Reads the Kaggle layout (`<root>/<class>/<class> (N).png` with `_mask.png`,
`_mask_1.png`, ... beside each image) from any path, so it works on a plain download.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from inference.preprocessing import resize_for_model, to_gray_array
from inference.settings import CLASS_NAMES

SPLIT_FRACTIONS = {"test": 0.15, "val": 0.15}  # the rest is train
HASH_DISTANCE = 12  # max Hamming distance (of 64 bits); 12 finds 87% of the curated pairs, no false ones
_MASK_SUFFIX = re.compile(r"_mask(_\d+)?$")


@dataclass(frozen=True)
class Sample:
    """One BUSI image: `key` is `class/name.png`, relative to the data root."""

    key: str
    label: str
    image_path: Path
    mask_paths: tuple[Path, ...]


def find_samples(root: str | Path) -> list[Sample]:
    """All images under `root` with their mask files, sorted by key."""
    root = Path(root)
    samples = []
    for label in CLASS_NAMES:
        folder = root / label
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing: expected BUSI's Kaggle layout")
        masks = defaultdict(list)
        images = []
        for path in sorted(folder.glob("*.png")):
            match = _MASK_SUFFIX.search(path.stem)
            if match:
                masks[path.stem[: match.start()]].append(path)
            else:
                images.append(path)
        for path in images:
            samples.append(Sample(f"{label}/{path.name}", label, path, tuple(sorted(masks[path.stem]))))
    return sorted(samples, key=lambda s: s.key)


def load_image(sample: Sample) -> np.ndarray:
    """Grayscale uint8 (H, W), through the same function the app uses."""
    with Image.open(sample.image_path) as image:
        return to_gray_array(image)


def load_mask(sample: Sample, shape: tuple[int, int]) -> np.ndarray:
    """Union of all of the sample's masks as bool (H, W); empty when it has none."""
    union = np.zeros(shape, dtype=bool)
    for path in sample.mask_paths:
        with Image.open(path) as mask:
            array = np.asarray(mask.convert("L"))
        if array.shape != shape:
            raise ValueError(f"{path.name} is {array.shape}, its image is {shape}")
        union |= array > 127
    return union


def perceptual_hashes(gray: np.ndarray) -> np.ndarray:
    """Two 64-bit hashes (DCT and gradient) as a (128,) bool vector."""
    image = Image.fromarray(gray)
    return np.concatenate([imagehash.phash(image).hash.ravel(), imagehash.dhash(image).hash.ravel()])


def _connected_groups(keys: list[str], pairs) -> list[list[str]]:
    """Group keys linked by (i, j) index pairs, transitively (union-find)."""
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[find(i)] = find(j)
    groups = defaultdict(list)
    for i, key in enumerate(keys):
        groups[find(i)].append(key)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def duplicate_groups(keys: list[str], hashes: np.ndarray, max_distance: int = HASH_DISTANCE) -> list[list[str]]:
    """Connected components of images whose pHash and dHash are both close.

    Requiring both hashes to agree keeps unrelated scans (which share BUSI's dark
    background and layout) apart while catching resized and re-exported copies.
    """
    phash, dhash = hashes[:, :64], hashes[:, 64:]
    p_dist = (phash[:, None, :] != phash[None, :, :]).sum(-1)
    d_dist = (dhash[:, None, :] != dhash[None, :, :]).sum(-1)
    linked = (p_dist <= max_distance) & (d_dist <= max_distance + 4)
    return _connected_groups(keys, zip(*np.nonzero(np.triu(linked, 1))))


def merge_groups(groups: list[list[str]], extra: list[list[str]]) -> list[list[str]]:
    """Union two groupings of the same keys (e.g. detected + a curated list)."""
    keys = [k for g in groups for k in g]
    index = {k: i for i, k in enumerate(keys)}
    pairs = [(index[g[0]], index[k]) for g in groups for k in g[1:]]
    for group in extra:
        present = [index[k] for k in group if k in index]
        pairs += [(present[0], other) for other in present[1:]]
    return _connected_groups(keys, pairs)


def split_groups(groups: list[list[str]], labels: dict[str, str], seed: int) -> dict[str, str]:
    """Assign whole groups to test/val/train, stratified by class.

    Groups whose images carry more than one label are returned as "excluded": the same
    pixels with two diagnoses cannot be learned from or scored fairly.
    """
    rng = random.Random(seed)
    assignment = {}
    by_class = defaultdict(list)
    for group in groups:
        classes = {labels[k] for k in group}
        if len(classes) > 1:
            assignment.update({k: "excluded" for k in group})
        else:
            by_class[classes.pop()].append(group)
    for label in CLASS_NAMES:
        class_groups = sorted(by_class[label])
        rng.shuffle(class_groups)
        total = sum(len(g) for g in class_groups)
        targets = {name: round(fraction * total) for name, fraction in SPLIT_FRACTIONS.items()}
        filled = Counter()
        for group in class_groups:
            split = next((s for s in targets if filled[s] + len(group) <= targets[s] + 1 and filled[s] < targets[s]), "train")
            filled[split] += len(group)
            assignment.update({k: split for k in group})
    return assignment


def build_manifest(root: str | Path, seed: int, known_groups: str | Path | None = None) -> dict:
    """Detect duplicate groups, split them, and describe every image for the manifest."""
    samples = find_samples(root)
    keys = [s.key for s in samples]
    hashes = np.stack([perceptual_hashes(load_image(s)) for s in samples])
    groups = duplicate_groups(keys, hashes)
    if known_groups:
        groups = merge_groups(groups, json.loads(Path(known_groups).read_text()))
    labels = {s.key: s.label for s in samples}
    assignment = split_groups(groups, labels, seed)
    group_of = {k: i for i, g in enumerate(groups) for k in g}
    return {
        "seed": seed,
        "hash_distance": HASH_DISTANCE,
        "known_groups_used": bool(known_groups),
        "counts": {split: dict(Counter(labels[k] for k in keys if assignment[k] == split))
                   for split in ("train", "val", "test", "excluded")},
        "images": [{"key": k, "label": labels[k], "split": assignment[k], "group": group_of[k]} for k in keys],
    }


def manifest_hash(manifest: dict) -> str:
    """SHA-256 of the split assignment, written into the model card."""
    rows = sorted((r["key"], r["split"]) for r in manifest["images"])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def load_split(root: str | Path, manifest: dict, split: str) -> tuple[list[Sample], list[np.ndarray], list[np.ndarray]]:
    """Samples of one split with their full-size grayscale images and masks."""
    wanted = {r["key"] for r in manifest["images"] if r["split"] == split}
    samples = [s for s in find_samples(root) if s.key in wanted]
    images = [load_image(s) for s in samples]
    masks = [load_mask(s, img.shape) for s, img in zip(samples, images)]
    return samples, images, masks


@dataclass(frozen=True)
class Squares:
    """A split's scans and lesion masks resized to the networks' square, with class indices."""

    squares: np.ndarray
    masks: np.ndarray
    labels: np.ndarray


def load_squares(root: str | Path, manifest: dict, split: str, size: int) -> Squares:
    """One split at `size` × `size`, resized as the pipeline resizes scans."""
    samples, images, masks = load_split(root, manifest, split)
    return Squares(np.stack([resize_for_model(img, size) for img in images]),
                   np.stack([resize_for_model(m.astype(np.uint8) * 255, size) > 127 for m in masks]),
                   np.array([CLASS_NAMES.index(s.label) for s in samples]))
