"""The int8 experiment keeps float exactly the layers the quantization debugger named."""
import numpy as np
import pytest

from experiments.int8_quantization import convert, denied_nodes, layer_errors

pytestmark = pytest.mark.slow  # converts with TensorFlow


def tiny_model():
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="first")(inputs)
    x = keras.layers.Conv2D(4, 1, activation="relu", name="second")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(keras.layers.GlobalAveragePooling2D()(x)))


def tensor_types(content: bytes) -> dict[str, str]:
    from ai_edge_litert.interpreter import Interpreter

    return {d["name"]: d["dtype"].__name__ for d in Interpreter(model_content=content).get_tensor_details()}


def test_the_debuggers_worst_layer_stays_float_and_the_rest_int8():
    rows = np.random.default_rng(0).uniform(0, 1, (8, 8, 8, 3)).astype(np.float32)
    model = tiny_model()
    layers = layer_errors(model, rows, debugged=2)
    assert all(layer["tensor"].startswith("NumericVerify/") and layer["scale"] > 0 for layer in layers)
    for layer in layers:  # pretend the debugger found "first" the worst
        layer["rmse_over_scale"] = 5.0 if "first" in layer["tensor"].split(";")[0] else 0.1
    nodes = denied_nodes(layers, above=1.0)
    assert len(nodes) == 1
    types = tensor_types(convert(model, "selective", rows, nodes))
    first = [dtype for name, dtype in types.items() if "first" in name.split(";")[0]]
    second = [dtype for name, dtype in types.items() if "second" in name.split(";")[0]]
    assert first and set(first) == {"float32"}
    assert second and "int8" in second
