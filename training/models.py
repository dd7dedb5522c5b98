"""Model builders: a small UNet segmenter and a mask-conditioned classifier on a Keras backbone.

Sized for 2 CPU cores (see the model card for measured timings). Constants on top,
small builder functions below, as in the keras-io examples. Input sizes, input kinds,
backbone and weights come from `InferenceSettings`, so the served pipeline feeds the
models what they were built for.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from inference.preprocessing import CLASSIFIER_INPUTS, UNET_INPUTS
from inference.settings import CLASS_NAMES, InferenceSettings

# Backbones by the name the settings carry: a new backbone is one entry here.
BACKBONES = {"EfficientNetB3": keras.applications.EfficientNetB3}
UNET_FILTERS = (16, 32, 64, 128, 256)  # one entry per level; 5 levels
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


def recipe() -> dict:
    """The architecture constants, recorded in run.json and stated by the model card."""
    return {"unet_filters": list(UNET_FILTERS), "classifier_dropout": DROPOUT_RATE, "classifier_l2": L2_WEIGHT}


def build_unet(settings: InferenceSettings, filters=UNET_FILTERS) -> keras.Model:
    """UNet for a binary lesion mask: the settings' UNet input -> per-pixel probability."""
    size, channels = settings.unet_size, len(UNET_INPUTS[settings.unet_input].channels)
    inputs = keras.Input((size, size, channels), name="image")
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


def build_classifier(settings: InferenceSettings) -> keras.Model:
    """The settings' backbone with a 3-way softmax head, dropout and L2, as in the original report.

    Input is the settings' classifier input ([0, 255], the range Keras EfficientNet expects).
    With `weights="imagenet"` the backbone starts from ImageNet (where it can be downloaded).
    """
    size, channels = settings.classifier_size, len(CLASSIFIER_INPUTS[settings.classifier_input].channels)
    inputs = keras.Input((size, size, channels), name="image_and_mask")
    backbone = BACKBONES[settings.backbone](
        include_top=False, weights=None if settings.weights == "none" else settings.weights,
        input_tensor=inputs, pooling="avg"
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


def keras_runner(model: keras.Model):
    """A Keras model as the pipeline's batch-of-one callable (inference mode, traced once
    as a tf.function: eager calls are ~15x slower and would misstate TensorFlow's speed)."""
    traced = tf.function(lambda batch: model(batch, training=False))
    return lambda batch: traced(tf.constant(batch, tf.float32)).numpy()[0]
