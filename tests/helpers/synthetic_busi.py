"""A tiny BUSI-like tree in Kaggle's layout, made by the tests (no real data needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def scan(rng: np.random.Generator, shape=(72, 96), lesion=None) -> np.ndarray:
    """Speckled dark frame with an optional ellipse lesion ((cy, cx, ry, rx), darker inside)."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    base = 60 + 50 * np.sin(xx / rng.uniform(3, 9) + rng.uniform(0, 6)) * np.cos(yy / rng.uniform(3, 9))
    image = base + rng.normal(0, 25, shape)
    if lesion:
        cy, cx, ry, rx = lesion
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        image[inside] = image[inside] * 0.3
    return np.clip(image, 0, 255).astype(np.uint8)


def ellipse_mask(shape, lesion) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    cy, cx, ry, rx = lesion
    return (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8) * 255


def make_tree(root: Path, per_class: int = 7, seed: int = 0) -> Path:
    """Write `per_class` images per class with masks; benign (1) has two mask files (union),
    benign (2) is RGB, and benign (3) is an exact copy of benign (4) (a duplicate pair)."""
    rng = np.random.default_rng(seed)
    for label in ("benign", "malignant", "normal"):
        folder = root / label
        folder.mkdir(parents=True)
        for n in range(1, per_class + 1):
            shape = (72, 96)
            lesion = None if label == "normal" else (36 + rng.integers(-8, 8), 48 + rng.integers(-10, 10), 12, 18)
            image = scan(rng, shape, lesion)
            mask = ellipse_mask(shape, lesion) if lesion else np.zeros(shape, np.uint8)
            name = f"{label} ({n})"
            if label == "benign" and n == 2:
                Image.fromarray(np.stack([image] * 3, -1)).save(folder / f"{name}.png")
            else:
                Image.fromarray(image).save(folder / f"{name}.png")
            if label == "benign" and n == 1:
                left, right = mask.copy(), mask.copy()
                left[:, 48:], right[:, :48] = 0, 0
                Image.fromarray(left).save(folder / f"{name}_mask.png")
                Image.fromarray(right).save(folder / f"{name}_mask_1.png")
            else:
                Image.fromarray(mask).save(folder / f"{name}_mask.png")
    benign = root / "benign"
    (benign / "benign (3).png").write_bytes((benign / "benign (4).png").read_bytes())
    (benign / "benign (3)_mask.png").write_bytes((benign / "benign (4)_mask.png").read_bytes())
    return root


def make_busbra_tree(root: Path, cases: int = 12, seed: int = 0) -> Path:
    """A tiny BUS-BRA-like folder: `bus_data.csv`, `Images/`, `Masks/`; every case has two
    views (`-l`, `-r`) of one lesion, alternately benign and malignant; no normals."""
    rng = np.random.default_rng(seed)
    (root / "Images").mkdir(parents=True)
    (root / "Masks").mkdir()
    rows = ["ID,Case,Histology,Pathology,BIRADS,Device,Width,Height,Side,BBOX"]
    for case in range(1, cases + 1):
        label = "benign" if case % 2 else "malignant"
        for side in "lr":
            shape = (80, 64)
            lesion = (40 + rng.integers(-6, 6), 32 + rng.integers(-6, 6), 10, 14)
            ident = f"bus_{case:04d}-{side}"
            Image.fromarray(scan(rng, shape, lesion)).save(root / "Images" / f"{ident}.png")
            Image.fromarray(ellipse_mask(shape, lesion)).save(root / "Masks" / f"mask_{case:04d}-{side}.png")
            rows.append(f'{ident},{case},x,{label},4,GE Logiq 7,64,80,{side},"[1,1,1,1]"')
    (root / "bus_data.csv").write_text("\n".join(rows) + "\n")
    return root
