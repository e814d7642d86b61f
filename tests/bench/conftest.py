"""Fixtures for the benchmark smoke tests: a tiny model of the shipped layout (ONNX, Keras, metadata,
metrics), trained here so the tests depend neither on what artifacts/ holds nor on its size."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def run_module(data_dir) -> Callable[..., subprocess.CompletedProcess]:
    """`python -m MODULE ARGS...` from the repository root, reading the real data; fails with its output."""

    def run(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "NIDS_DATA_DIR": str(data_dir)}
        done = subprocess.run(
            [sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{module} exited {done.returncode}:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"
        return done

    return run


@pytest.fixture(scope="session")
def tiny_model() -> str:
    """The id of the one model in `tiny_artifacts`."""
    return "nsl-kdd-multiclass-cnn"


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory, run_module, data_dir, tiny_model) -> Path:
    out = tmp_path_factory.mktemp("artifacts")
    run_module(
        "trainer",
        "train",
        "--dataset",
        "nsl-kdd",
        "--task",
        "multiclass",
        "--arch",
        "cnn",
        "--epochs",
        "1",
        "--limit-rows",
        "2000",
        "--no-baseline",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    )
    assert (out / tiny_model / "model.keras").is_file() and (out / tiny_model / "model.onnx").is_file()
    return out
