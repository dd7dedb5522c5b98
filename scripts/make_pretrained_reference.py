"""Write tests/fixtures/pretrained_reference.npz: EfficientNet-Lite logits from pure numpy.

An independent check on training/pretrained.py's Keras model: this is the PyTorch port's
forward pass written out in float64 numpy, channels-first, straight from the state dict
(only the .pth reader is shared). Stage depths and strides are spelled out here rather
than computed, convolutions pad TF-"same" and batch norm uses epsilon 1e-3, as the TF
originals did. Slow (about a minute) and run once; the test compares Keras against it.

Input: a blocky seeded-random RGB picture in [0, 255] (uint8, stored in the fixture),
cropped to the top-left 224 x 224 where a case runs at 224.

Usage: python scripts/make_pretrained_reference.py
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.pretrained import load_state_dict  # noqa: E402  (the reader only)

OUT = ROOT / "tests" / "fixtures" / "pretrained_reference.npz"
SEED = 20240611
IMAGE_SIZE = 260
BLOCK = 10  # the picture is a 26 x 26 random image, each pixel a 10 x 10 block
CASES = (("lite0", 224), ("lite1", 240), ("lite2", 224), ("lite2", 260))
# Blocks per stage (Lite keeps the first and last stages at one block) and stage strides
STAGE_REPEATS = {"lite0": (1, 2, 2, 3, 3, 4, 1), "lite1": (1, 3, 3, 4, 4, 5, 1),
                 "lite2": (1, 3, 3, 4, 4, 5, 1)}
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
BN_EPSILON = 1e-3


def same_pad(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """TF "same" padding of a (C, H, W) array: any odd pixel goes after, not before."""
    pads = [(0, 0)]
    for n in x.shape[1:]:
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads)


def conv(x: np.ndarray, w: np.ndarray, stride: int, depthwise: bool = False) -> np.ndarray:
    """Cross-correlation of (C, H, W) with PyTorch weights (O, I, k, k), bias-free."""
    k = w.shape[-1]
    p = same_pad(x, k, stride)
    out_h, out_w = math.ceil(x.shape[1] / stride), math.ceil(x.shape[2] / stride)
    out = np.zeros((w.shape[0], out_h, out_w))
    for i in range(k):
        for j in range(k):
            patch = p[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
            if depthwise:
                out += w[:, 0, i, j][:, None, None] * patch
            else:
                out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return out


def bn(x: np.ndarray, sd: dict, prefix: str) -> np.ndarray:
    scale = sd[f"{prefix}.weight"] / np.sqrt(sd[f"{prefix}.running_var"] + BN_EPSILON)
    shift = sd[f"{prefix}.bias"] - sd[f"{prefix}.running_mean"] * scale
    return x * scale[:, None, None] + shift[:, None, None]


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 6.0)


def block(x: np.ndarray, sd: dict, p: str, stride: int) -> np.ndarray:
    """MBConv without squeeze-excitation; residual when shape is kept."""
    h = x
    if f"{p}._expand_conv.weight" in sd:
        h = relu6(bn(conv(h, sd[f"{p}._expand_conv.weight"], 1), sd, f"{p}._bn0"))
    h = relu6(bn(conv(h, sd[f"{p}._depthwise_conv.weight"], stride, True), sd, f"{p}._bn1"))
    h = bn(conv(h, sd[f"{p}._project_conv.weight"], 1), sd, f"{p}._bn2")
    return h + x if h.shape == x.shape else h


def forward(sd: dict, variant: str, image: np.ndarray) -> np.ndarray:
    """Logits for one (H, W, 3) uint8 image in [0, 255]."""
    x = (image.astype(np.float64).transpose(2, 0, 1) - 127.0) / 128.0
    x = relu6(bn(conv(x, sd["_conv_stem.weight"], 2), sd, "_bn0"))
    index = 0
    for repeats, stride in zip(STAGE_REPEATS[variant], STAGE_STRIDES, strict=True):
        for r in range(repeats):
            x = block(x, sd, f"_blocks.{index}", stride if r == 0 else 1)
            index += 1
    if f"_blocks.{index}._depthwise_conv.weight" in sd:
        raise ValueError(f"{variant}: state dict has more blocks than {index}")
    x = relu6(bn(conv(x, sd["_conv_head.weight"], 1), sd, "_bn1"))
    return sd["_fc.weight"] @ x.mean(axis=(1, 2)) + sd["_fc.bias"]


def make_image() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    small = rng.integers(0, 256, (IMAGE_SIZE // BLOCK, IMAGE_SIZE // BLOCK, 3), dtype=np.uint8)
    return small.repeat(BLOCK, axis=0).repeat(BLOCK, axis=1)


def main() -> None:
    image = make_image()
    arrays = {"image": image}
    for variant, size in CASES:
        sd = {k: v.astype(np.float64) for k, v in load_state_dict(variant).items()}
        logits = forward(sd, variant, image[:size, :size])
        arrays[f"logits_{variant}_{size}"] = logits.astype(np.float32)
        print(f"{variant}@{size}: top-5 {np.argsort(logits)[::-1][:5].tolist()}")
    arrays["description"] = np.array(
        f"numpy float64 forward of the PyTorch EfficientNet-Lite state dicts; image: seed {SEED}, "
        f"{IMAGE_SIZE // BLOCK}x{IMAGE_SIZE // BLOCK}x3 uint8 upsampled x{BLOCK}, top-left "
        f"crop of the case's size; cases {CASES}"
    )
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
