"""Fixtures for the inference core: the shipped models, and a tiny real model with a novelty detector
(the shipped ones have none yet), written as the trainer would write it."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from inference import ModelSet, load_models
from preprocess.metadata import ModelMetadata
from preprocess.transform import Preprocessor

# The shipped model whose columns, classes, examples and metrics the tiny model borrows.
SOURCE_MODEL = "nsl-kdd-multiclass-cnn"
NOVELTY_MODEL = "nsl-kdd-multiclass-tiny-novelty"


@pytest.fixture(scope="session")
def shipped(artifacts_dir) -> ModelSet:
    return load_models(artifacts_dir)


@pytest.fixture(scope="session")
def novelty_artifacts(tmp_path_factory, artifacts_dir) -> Path:
    """An artifacts folder serving the tiny novelty model alone."""
    return write_novelty_artifacts(tmp_path_factory.mktemp("novelty-artifacts"), artifacts_dir)


def tiny_weights(width: int, classes: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(width, classes)).astype(np.float32)


def novelty_scores(meta: ModelMetadata, records: list[dict]) -> np.ndarray:
    """What the tiny model's novelty output computes, in numpy: the sum of squares of each encoded row."""
    return (Preprocessor(meta).transform(records).astype(np.float64) ** 2).sum(axis=1)


def write_novelty_artifacts(root: Path, shipped_root: Path) -> Path:
    """`root/index.json` and one model folder: probabilities = softmax(features @ W), novelty = the sum of
    squares of the encoded row, threshold halfway between the second and third lowest example scores (so
    two examples are known and the others unknown). Metadata, metrics and figures are the source model's."""
    source = shipped_root / SOURCE_MODEL
    folder = root / NOVELTY_MODEL
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("model.onnx", "model.keras"))
    meta = json.loads((source / "metadata.json").read_text())
    width, classes = meta["onnx"]["input_width"], len(meta["classes"])
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "weights"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
            helper.make_node("ReduceSumSquare", ["features"], ["novelty"], axes=[1], keepdims=0),
        ],
        "tiny_novelty",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, width])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, classes]),
            helper.make_tensor_value_info("novelty", TensorProto.FLOAT, [None]),
        ],
        initializer=[numpy_helper.from_array(tiny_weights(width, classes), "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    meta |= {"model_id": NOVELTY_MODEL, "architecture": "tiny-novelty"}
    meta["onnx"] |= {
        "sha256": hashlib.sha256(data).hexdigest(),
        "input_name": "features",
        "output_name": "probabilities",
        "opset": 13,
    }
    scores = np.sort(novelty_scores(ModelMetadata.model_validate(meta), list(meta["examples"].values())))
    meta["novelty"] = {
        "output_name": "novelty",
        "method": "sum of squares of the encoded row",
        "threshold": float((scores[1] + scores[2]) / 2),
        "budget": 0.05,
        "validation_normal_flagged": 0.05,
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2))
    entry = {"id": NOVELTY_MODEL, "path": NOVELTY_MODEL, "dataset": meta["dataset"], "task": meta["task"],
             "architecture": meta["architecture"], "balancing": "none"}  # fmt: skip
    (root / "index.json").write_text(json.dumps({"models": [entry], "dataset_defaults": {meta["dataset"]: NOVELTY_MODEL}}))
    return root
