"""A whole training run on a few thousand real rows: one epoch, ONNX export and parity check."""

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from preprocess import Preprocessor, load_metadata
from trainer.config import TrainConfig
from trainer.datasets import NSL_KDD
from trainer.load import load
from trainer.splits import sample_rows
from trainer.train import run


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("artifacts")
    cfg = TrainConfig(
        dataset="nsl-kdd",
        task="multiclass",
        architecture="cnn",
        balance="smote",
        epochs=1,
        limit_rows=3000,
        data_dir=data_dir,
        out_dir=out,
    )
    return run(cfg), out / cfg.model_id


def test_run_writes_a_complete_model_folder_and_index(trained):
    metrics, folder = trained
    assert {p.name for p in folder.iterdir()} >= {
        "model.onnx",
        "metadata.json",
        "metrics.json",
        "confusion_matrix.png",
        "training_history.png",
    }
    index = json.loads((folder.parent / "index.json").read_text())
    assert index["defaults"]["nsl-kdd/multiclass"]["model"] == "nsl-kdd-multiclass-cnn"
    assert "validation" in index["defaults"]["nsl-kdd/multiclass"]["why"]
    assert max(metrics["onnx_parity"].values()) <= 1e-4
    assert set(metrics["extra_tests"]) == {"KDDTest-21.txt.gz"}
    assert set(metrics["baselines"]) == {"random-forest", "gradient-boosting"}
    for anchor in metrics["baselines"].values():
        assert {"validation", "test", "KDDTest-21.txt.gz"} <= set(anchor)
        assert anchor["test"]["rows"] == metrics["test"]["rows"] and anchor["test"]["accuracy"] > 0.5
    assert metrics["split"]["validation"]["kind"] == "subtypes" and metrics["split"]["validation"]["held_out_subtypes"]
    # early stopping watches the validation rows of subtypes trained on; the held-out ones only score the model
    held_out_rows = metrics["split"]["validation"]["held_out_rows"]
    assert 0 < metrics["training"]["early_stopping_rows"] == metrics["validation"]["rows"] - held_out_rows


def test_balancing_touches_the_training_split_only(trained):
    metrics, _ = trained
    split = metrics["split"]
    assert metrics["validation"]["rows"] == split["rows"]["validation"]
    assert metrics["test"]["rows"] == split["rows"]["test"]
    after = metrics["balancing"]["counts_after"]
    assert sum(after.values()) > split["rows"]["train"]
    assert sum(metrics["balancing"]["counts_before"].values()) == split["rows"]["train"]


def test_exported_model_with_numpy_preprocessing_matches_recorded_test_accuracy(trained, data_dir):
    metrics, folder = trained
    meta = load_metadata(folder / "metadata.json")
    session = ort.InferenceSession(str(folder / meta.onnx.file))
    test = sample_rows(load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTest+.txt.gz"), 3000, 0)
    X = Preprocessor(meta).transform(test.features.to_dict("records"))
    predicted = np.array(meta.classes)[session.run([meta.onnx.output_name], {meta.onnx.input_name: X})[0].argmax(axis=1)]
    assert (predicted == test.labels.to_numpy()).mean() == pytest.approx(metrics["test"]["accuracy"], abs=1e-9)
    assert set(meta.examples) == set(meta.classes)


def test_cli_bad_data_dir_is_one_line_and_nonzero(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--dataset", "nsl-kdd", "--data-dir", str(tmp_path), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("trainer: error:") and "KDDTrain+.txt.gz: no such file" in result.stderr


def test_cli_rejects_a_non_positive_epoch_count(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--dataset", "nsl-kdd", "--epochs", "0"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "must be positive" in result.stderr


def test_constant_training_columns_are_ignored_columns_of_the_model(trained):
    _, folder = trained
    meta = load_metadata(folder / "metadata.json")
    assert "num_outbound_cmds" in meta.ignored_columns
    assert "num_outbound_cmds" not in {f.name for f in meta.features} | set(meta.encoded_features)


def test_metadata_carries_the_training_profile_and_background_rows(trained):
    _, folder = trained
    meta = load_metadata(folder / "metadata.json")
    profiled = {p.name: p for p in meta.training_profile}
    assert set(profiled) == {f.name for f in meta.features}
    assert all(abs(sum(p.proportions) - 1) < 1e-6 for p in profiled.values())
    assert meta.background and set(meta.background[0]) == {f.name for f in meta.features}
