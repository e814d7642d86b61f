"""Start-up refuses broken artifacts and unsafe settings with an error naming what is wrong."""

import json
import logging
import shutil
import subprocess
import sys

import pytest
from pydantic import ValidationError

from inference import ArtifactError
from service.core.config import Settings
from service.main import create_app


@pytest.fixture
def artifacts_copy(tmp_path, index, artifacts_dir):
    """A copy of the first dataset's models (at least one), with its own index.json."""
    dataset = index["models"][0]["dataset"]
    entries = [e for e in index["models"] if e["dataset"] == dataset]
    for entry in entries:
        shutil.copytree(artifacts_dir / entry["path"], tmp_path / entry["path"])
    copy = {"models": entries, "dataset_defaults": {dataset: index["dataset_defaults"][dataset]}}
    (tmp_path / "index.json").write_text(json.dumps(copy))
    return tmp_path


def _start(make_settings, artifacts_dir):
    return create_app(make_settings(artifacts_dir=artifacts_dir))


def _default_folder(root):
    index = json.loads((root / "index.json").read_text())
    model_id = next(iter(index["dataset_defaults"].values()))
    return root / next(e["path"] for e in index["models"] if e["id"] == model_id)


def _edit_metadata(folder, change):
    path = folder / "metadata.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def test_the_copy_starts_as_it_is(make_settings, artifacts_copy):
    """So each failure below comes from its one change."""
    assert _start(make_settings, artifacts_copy).state.registry.models


def test_a_missing_plot_is_left_out_not_an_error(make_settings, artifacts_copy):
    (_default_folder(artifacts_copy) / "training_history.png").unlink()
    registry = _start(make_settings, artifacts_copy).state.registry
    model = registry.models[next(iter(registry.defaults.values()))]
    assert model.info.plots == ["confusion_matrix", "class_balance"] and set(model.plots) == set(model.info.plots)


def test_missing_onnx_file(make_settings, artifacts_copy):
    onnx = _default_folder(artifacts_copy) / "model.onnx"
    onnx.unlink()
    with pytest.raises(ArtifactError, match=f"{onnx}: cannot read the model"):
        _start(make_settings, artifacts_copy)


def test_tampered_onnx_file(make_settings, artifacts_copy):
    onnx = _default_folder(artifacts_copy) / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=f"{onnx}: sha256 .* altered or truncated"):
        _start(make_settings, artifacts_copy)


def test_truncated_onnx_file(make_settings, artifacts_copy):
    onnx = _default_folder(artifacts_copy) / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:1000])
    with pytest.raises(ArtifactError, match=f"{onnx}: sha256 .* altered or truncated"):
        _start(make_settings, artifacts_copy)


def test_truncated_onnx_file_even_with_a_matching_checksum(make_settings, artifacts_copy):
    import hashlib

    folder = _default_folder(artifacts_copy)
    truncated = (folder / "model.onnx").read_bytes()[:1000]
    (folder / "model.onnx").write_bytes(truncated)
    _edit_metadata(folder, lambda m: m["onnx"].update(sha256=hashlib.sha256(truncated).hexdigest()))
    with pytest.raises(ArtifactError, match=f"{folder / 'model.onnx'}: onnxruntime cannot load it"):
        _start(make_settings, artifacts_copy)


@pytest.mark.parametrize("field", ["classes", "features", "onnx"])
def test_metadata_missing_a_field(make_settings, artifacts_copy, field):
    folder = _default_folder(artifacts_copy)
    _edit_metadata(folder, lambda m: m.pop(field))
    with pytest.raises(ArtifactError, match=f"{folder / 'metadata.json'}: invalid metadata at '{field}': Field required"):
        _start(make_settings, artifacts_copy)


def test_missing_metrics(make_settings, artifacts_copy):
    metrics = _default_folder(artifacts_copy) / "metrics.json"
    metrics.unlink()
    with pytest.raises(ArtifactError, match=f"{metrics}: cannot read"):
        _start(make_settings, artifacts_copy)


def test_missing_index(make_settings, tmp_path):
    with pytest.raises(ArtifactError, match=f"{tmp_path / 'index.json'}: cannot read"):
        _start(make_settings, tmp_path)


def test_default_model_must_exist(make_settings, artifacts_copy):
    index = json.loads((artifacts_copy / "index.json").read_text())
    dataset = next(iter(index["dataset_defaults"]))
    index["dataset_defaults"][dataset] = "not-a-model"
    (artifacts_copy / "index.json").write_text(json.dumps(index))
    with pytest.raises(ArtifactError, match="index.json: dataset_defaults must name one of"):
        _start(make_settings, artifacts_copy)


def test_models_of_one_dataset_must_take_the_same_columns(make_settings, artifacts_copy):
    index = json.loads((artifacts_copy / "index.json").read_text())
    if len(index["models"]) < 2:
        pytest.skip("the first dataset has a single model")
    other = next(e for e in index["models"] if e["id"] not in index["dataset_defaults"].values())
    first_numeric = {}

    def retype(meta):
        feature = next(f for f in meta["features"] if f["kind"] == "numeric")
        feature["dtype"] = "number" if feature["dtype"] == "integer" else "integer"
        first_numeric["name"] = feature["name"]

    _edit_metadata(artifacts_copy / other["path"], retype)
    with pytest.raises(
        ArtifactError, match=f"{artifacts_copy / other['path'] / 'metadata.json'}: input column \\('{first_numeric['name']}'"
    ):
        _start(make_settings, artifacts_copy)


def test_example_records_must_fit_the_schema(make_settings, artifacts_copy):
    folder = _default_folder(artifacts_copy)
    _edit_metadata(folder, lambda m: next(iter(m["examples"].values())).update(unexpected_column=1))
    with pytest.raises(ArtifactError, match=f"{folder / 'metadata.json'}: example .* 'unexpected_column'"):
        _start(make_settings, artifacts_copy)


def test_production_refuses_a_missing_or_short_secret(monkeypatch):
    monkeypatch.delenv("NIDS_JWT_SECRET", raising=False)
    for secret in (None, "too-short"):
        with pytest.raises(ValidationError, match="NIDS_JWT_SECRET must be set to at least 32 characters"):
            Settings(env="production", jwt_secret=secret)
    assert Settings(env="production", jwt_secret="k" * 32).signing_key == "k" * 32


def test_development_generates_a_random_secret_with_a_warning(monkeypatch, caplog):
    monkeypatch.delenv("NIDS_JWT_SECRET", raising=False)
    with caplog.at_level(logging.WARNING, logger="service.core.config"):
        first, second = Settings(), Settings()
    assert len(first.signing_key) >= 32 and first.signing_key != second.signing_key
    assert "NIDS_JWT_SECRET is not set" in caplog.text
    assert first.signing_key not in caplog.text


def test_settings_come_from_nids_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("NIDS_BATCH_LIMIT", "2500")
    monkeypatch.setenv("NIDS_ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setenv("NIDS_JWT_SECRET", "s" * 40)
    settings = Settings()
    assert (settings.batch_limit, settings.artifacts_dir, settings.signing_key) == (2500, tmp_path, "s" * 40)
    assert Settings.model_fields["batch_limit"].default >= 1000


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"NIDS_JWT_SECRET": "s" * 40}, "nids-service: {artifacts}/index.json: cannot read: "),
        ({"NIDS_ENV": "production"}, "nids-service: invalid settings: Value error, NIDS_JWT_SECRET must be set"),
    ],
)
def test_python_m_service_refuses_to_start_with_a_one_line_message(tmp_path, artifacts_dir, environment, message):
    env = {"NIDS_ARTIFACTS_DIR": str(tmp_path), "NIDS_DATABASE_URL": f"sqlite:///{tmp_path / 'nids.db'}", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "service"],
        cwd=artifacts_dir.parent,
        env=env | environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(message.format(artifacts=tmp_path))
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
