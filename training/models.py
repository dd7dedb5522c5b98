"""Model builders: a small UNet segmenter and a mask-conditioned EfficientNetB3 classifier.

Sized for 2 CPU cores (see the model card for measured timings). Constants on top,
small builder functions below, as in the keras-io examples.
"""
from __future__ import annotations

import keras
from keras import layers

from app.preprocessing import CLASS_NAMES, CLASSIFIER_SIZE, UNET_SIZE

UNET_FILTERS = (16, 32, 64, 128, 256)  # one entry per level; 5 levels
CLASSIFIER_CHANNELS = 3  # image, masked image, mask (see app.preprocessing.classifier_input)
DROPOUT_RATE = 0.4
L2_WEIGHT = 1e-4
# Keras builds EfficientNet's batch norms with momentum 0.99, tuned for ImageNet-length runs.
# Trained from scratch on ~450 images (28 steps an epoch) the moving statistics lagged the
# weights so far that inference-mode predictions were one class for 8 epochs; 0.9 tracks them.
BATCH_NORM_MOMENTUM = 0.9


def _conv_block(x, filters: int, name: str):
    """Two 3x3 convolutions with batch norm: the UNet's unit of work."""
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def build_unet(size: int = UNET_SIZE, filters=UNET_FILTERS) -> keras.Model:
    """UNet for a binary lesion mask: (size, size, 1) in [0, 1] -> per-pixel probability."""
    inputs = keras.Input((size, size, 1), name="image")
    skips, x = [], inputs
    for level, width in enumerate(filters[:-1]):
        x = _conv_block(x, width, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(name=f"pool{level}")(x)
    x = _conv_block(x, filters[-1], "bottom")
    for level in reversed(range(len(filters) - 1)):
        x = layers.Conv2DTranspose(filters[level], 2, strides=2, padding="same", name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv_block(x, filters[level], f"dec{level}")
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="unet")


def build_classifier(size: int = CLASSIFIER_SIZE, weights: str | None = None) -> keras.Model:
    """EfficientNetB3 with a 3-way softmax head, dropout and L2, as in the original report.

    Input is (size, size, 3) in [0, 255], the range Keras EfficientNet expects. With
    `weights="imagenet"` the backbone starts from ImageNet (where it can be downloaded).
    """
    inputs = keras.Input((size, size, CLASSIFIER_CHANNELS), name="image_and_mask")
    backbone = keras.applications.EfficientNetB3(
        include_top=False, weights=weights, input_tensor=inputs, pooling="avg"
    )
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BATCH_NORM_MOMENTUM
    x = layers.Dropout(DROPOUT_RATE, name="head_dropout")(backbone.output)
    outputs = layers.Dense(
        len(CLASS_NAMES),
        kernel_regularizer=keras.regularizers.l2(L2_WEIGHT),
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name="classifier")
