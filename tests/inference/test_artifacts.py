"""Artifact checks of the inference core: whatever is altered or inconsistent is refused, naming the file."""

import json
import shutil

import pytest

from inference import ArtifactError, load_model, session_options
from tests.inference.conftest import SOURCE_MODEL


@pytest.fixture
def model_copy(tmp_path, artifacts_dir):
    folder = tmp_path / SOURCE_MODEL
    shutil.copytree(artifacts_dir / SOURCE_MODEL, folder)
    return folder


def test_a_verified_copy_loads_with_the_threads_asked_for(model_copy):
    model = load_model(model_copy, session_options(intra_op_threads=2))
    assert model.session.get_session_options().intra_op_num_threads == 2
    assert model.id == SOURCE_MODEL


def test_a_tampered_onnx_file_is_refused_naming_it(model_copy):
    onnx = model_copy / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=f"^{onnx}: sha256 .* altered or truncated"):
        load_model(model_copy)


def test_invalid_metadata_is_refused_naming_it(model_copy):
    path = model_copy / "metadata.json"
    path.write_text(path.read_text()[:-10])
    with pytest.raises(ArtifactError, match=f"^{path}: cannot read metadata"):
        load_model(model_copy)


def test_a_novelty_detector_the_graph_lacks_is_refused(model_copy):
    path = model_copy / "metadata.json"
    meta = json.loads(path.read_text())
    meta["novelty"] = {
        "output_name": "unseen_score",  # the graph's detector output is called "novelty"
        "method": "m",
        "threshold": 1.0,
        "budget": 0.05,
        "validation_normal_flagged": 0.05,
    }
    path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=f"^{model_copy / 'model.onnx'}: has no output 'unseen_score'"):
        load_model(model_copy)
