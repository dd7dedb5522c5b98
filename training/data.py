"""Data sets, near-duplicate grouping and the group-aware split, one manifest per source.

Two layouts, recognised from the folder itself so any download works:
- BUSI (Al-Dhabyani et al., 2020), Kaggle layout: `<root>/<class>/<class> (N).png` with
  `_mask.png`, `_mask_1.png`, ... beside each image; three classes.
- BUS-BRA (Gómez-Flores et al., Medical Physics 2024): `<root>/bus_data.csv`,
  `Images/<ID>.png`, `Masks/mask_<ID>.png`; benign and malignant only. Images of one `Case`
  (two views of the same lesion) always share a split.
"""
from __future__ import annotations

import csv
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

from inference.preprocessing import to_gray_array
from inference.settings import CLASS_NAMES

SPLIT_FRACTIONS = {"test": 0.15, "val": 0.15}  # the rest is train
HASH_DISTANCE = 12  # max Hamming distance (of 64 bits); 12 finds 87% of the curated pairs, no false ones
_MASK_SUFFIX = re.compile(r"_mask(_\d+)?$")


BUSBRA_TABLE = "bus_data.csv"


@dataclass(frozen=True)
class Sample:
    """One image: `key` is its path relative to the data root; `case` names the patient or
    lesion where the source says (BUS-BRA), so that its views stay on one side of a split."""

    key: str
    label: str
    image_path: Path
    mask_paths: tuple[Path, ...]
    case: str | None = None


def source_name(root: str | Path) -> str:
    """"busbra" for a folder with BUS-BRA's table, else "busi"."""
    return "busbra" if (Path(root) / BUSBRA_TABLE).is_file() else "busi"


def find_samples(root: str | Path) -> list[Sample]:
    """All images under `root` with their mask files, sorted by key, in either layout."""
    root = Path(root)
    if source_name(root) == "busbra":
        return _busbra_samples(root)
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


def _busbra_samples(root: Path) -> list[Sample]:
    """BUS-BRA's images from its table; a row whose image or mask file is missing is an error."""
    with (root / BUSBRA_TABLE).open(newline="") as f:
        rows = list(csv.DictReader(f))
    samples = []
    for row in rows:
        image, mask = root / "Images" / f"{row['ID']}.png", root / "Masks" / f"mask_{row['ID'][4:]}.png"
        if not image.is_file() or not mask.is_file():
            raise FileNotFoundError(f"{image.name} or {mask.name} is missing: expected BUS-BRA's layout")
        samples.append(Sample(f"Images/{image.name}", row["Pathology"], image, (mask,), case=row["Case"]))
    return sorted(samples, key=lambda s: s.key)


def case_groups(samples: list[Sample]) -> list[list[str]]:
    """Keys of images that show the same case (empty for a source without cases)."""
    by_case = defaultdict(list)
    for sample in samples:
        if sample.case is not None:
            by_case[sample.case].append(sample.key)
    return [keys for keys in by_case.values() if len(keys) > 1]


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
    return _connected_groups(keys, zip(*np.nonzero(np.triu(linked, 1)), strict=True))


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
            split = next((s for s in targets if filled[s] + len(group) <= targets[s] + 1 and filled[s] < targets[s]),
                         "train")
            filled[split] += len(group)
            assignment.update({k: split for k in group})
    return assignment


def build_manifest(root: str | Path, seed: int, known_groups: str | Path | None = None) -> dict:
    """Detect duplicate groups, split them, and describe every image for the manifest."""
    samples = find_samples(root)
    keys = [s.key for s in samples]
    hashes = np.stack([perceptual_hashes(load_image(s)) for s in samples])
    groups = merge_groups(duplicate_groups(keys, hashes), case_groups(samples))
    if known_groups:
        groups = merge_groups(groups, json.loads(Path(known_groups).read_text()))
    labels = {s.key: s.label for s in samples}
    assignment = split_groups(groups, labels, seed)
    group_of = {k: i for i, g in enumerate(groups) for k in g}
    return {
        "source": source_name(root),
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
    masks = [load_mask(s, img.shape) for s, img in zip(samples, images, strict=True)]
    return samples, images, masks
