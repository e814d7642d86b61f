"""Keras -> ONNX with a dynamic batch dimension, checked against Keras before it is accepted."""

import hashlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from trainer.models import INPUT_NAME, OUTPUT_NAME

OPSET = 17  # tf2onnx 1.17 converts opsets 13-18 here
PARITY_TOLERANCE = 1e-4
PARITY_MIN_ROWS = 1000


class ExportError(RuntimeError):
    pass


def export_onnx(model, width: int, path: Path) -> None:
    signature = [tf.TensorSpec([None, width], tf.float32, name=INPUT_NAME)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    # tf2onnx names the output after the Keras graph node; give clients a stable name.
    old_name = proto.graph.output[0].name
    if old_name != OUTPUT_NAME:
        for node in proto.graph.node:
            node.output[:] = [OUTPUT_NAME if o == old_name else o for o in node.output]
        proto.graph.output[0].name = OUTPUT_NAME
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def check_parity(keras_probs: np.ndarray, path: Path, X: np.ndarray) -> float:
    """Largest |ONNX - Keras| probability over the rows (`keras_probs`: the Keras model's on X); raises ExportError
    above the tolerance."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_probs = session.run([OUTPUT_NAME], {INPUT_NAME: X.astype(np.float32)})[0]
    worst = float(np.abs(onnx_probs - keras_probs).max())
    if worst > PARITY_TOLERANCE:
        raise ExportError(f"{path}: ONNX and Keras disagree by {worst:.2e} (> {PARITY_TOLERANCE}) on {len(X)} rows")
    return worst


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
