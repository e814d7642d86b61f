"""The two architectures, as functional Keras models (tf2onnx converts functional models, not Sequential).

The encoded record is treated as a 1-D signal of `width` steps with one channel.
"""

import keras
import numpy as np
from keras import layers

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"


def _conv_blocks(x):
    x = layers.Conv1D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Conv1D(64, 3, padding="same", activation="relu")(x)
    return layers.MaxPooling1D(2)(x)


def build_cnn(width: int, n_classes: int) -> keras.Model:
    inputs = keras.Input(shape=(width,), name=INPUT_NAME)
    x = _conv_blocks(layers.Reshape((width, 1))(inputs))
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="cnn")


def build_cnn_lstm(width: int, n_classes: int) -> keras.Model:
    inputs = keras.Input(shape=(width,), name=INPUT_NAME)
    x = _conv_blocks(layers.Reshape((width, 1))(inputs))
    x = layers.LSTM(64)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="cnn_lstm")


BUILDERS = {"cnn": build_cnn, "cnn-lstm": build_cnn_lstm}  # one per name in preprocess.defaults.ARCHITECTURES


def build(
    architecture: str, width: int, n_classes: int, learning_rate: float = 1e-3, loss="sparse_categorical_crossentropy"
) -> keras.Model:
    """`loss`: a Keras loss on the probabilities (trainer.losses); it shapes training only, never the graph."""
    model = BUILDERS[architecture](width, n_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
    return model


def summed_into(model: keras.Model, output_of: np.ndarray, n_outputs: int) -> keras.Model:
    """`model` followed by a fixed matrix that adds the probabilities of classes sharing an output class.

    output_of[i] is the output class of the model's class i (e.g. every attack family -> "attack").
    """
    layer = layers.Dense(n_outputs, use_bias=False, trainable=False, name="summed")
    outputs = layer(model.output)
    layer.set_weights([np.eye(n_outputs, dtype="float32")[output_of]])
    return keras.Model(model.input, outputs, name=f"{model.name}_summed")
