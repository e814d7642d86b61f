"""Keras -> ONNX with a dynamic batch dimension, checked against Keras before it is accepted."""

import hashlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from trainer.models import INPUT_NAME, OUTPUT_NAME
from trainer.pipeline import PREDICT_BATCH

NOVELTY_OUTPUT = "novelty"  # a detector's score, the graph's second output when it has one

OPSET = 17  # tf2onnx 1.17 converts opsets 13-18 here
PARITY_TOLERANCE = 1e-4
PARITY_MIN_ROWS = 1000


class ExportError(RuntimeError):
    pass


def output_names(outputs) -> list[str]:
    """The graph's output names for a model's outputs (a Keras model, or its list of output arrays)."""
    return [OUTPUT_NAME, NOVELTY_OUTPUT][: len(getattr(outputs, "outputs", outputs))]


def keras_graph(model, width: int) -> onnx.ModelProto:
    signature = [tf.TensorSpec([None, width], tf.float32, name=INPUT_NAME)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    # tf2onnx names the outputs after the Keras graph nodes, in the model's output order; give clients stable names.
    for output, name in zip(proto.graph.output, output_names(model), strict=True):
        if output.name != name:
            rename_tensor(proto.graph, output.name, name)
            output.name = name
    return proto


def rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Call a tensor `new` wherever the graph's nodes produce or read it as `old`."""
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
        node.input[:] = [new if name == old else name for name in node.input]


def write_onnx(proto: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def export_onnx(model, width: int, path: Path) -> None:
    write_onnx(keras_graph(model, width), path)


def keras_outputs(model, X: np.ndarray) -> list[np.ndarray]:
    """The model's outputs as a list (probabilities, then the novelty score if any)."""
    outputs = model.predict(X, batch_size=PREDICT_BATCH, verbose=0)
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def check_parity(expected: list[np.ndarray], path: Path, X: np.ndarray) -> dict[str, float]:
    """Per output, the largest ONNX vs Keras difference over the rows (`expected`: the Keras model's outputs on X):
    absolute for probabilities, relative to max(1, |Keras score|) for the novelty score (a squared distance runs to
    thousands, where float32 keeps ~7 significant digits). Raises ExportError above the tolerance."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = output_names(expected)
    onnx_outputs = session.run(names, {INPUT_NAME: X.astype(np.float32)})
    worst = {}
    for name, served, wanted in zip(names, onnx_outputs, expected, strict=True):
        served, wanted = served.reshape(wanted.shape).astype(np.float64), wanted.astype(np.float64)
        scale = 1.0 if name == OUTPUT_NAME else np.maximum(1.0, np.abs(wanted))
        worst[name] = float((np.abs(served - wanted) / scale).max())
        if worst[name] > PARITY_TOLERANCE:
            raise ExportError(
                f"{path}: ONNX and Keras {name} disagree by {worst[name]:.2e} (> {PARITY_TOLERANCE}) on {len(X)} rows"
            )
    return worst


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
