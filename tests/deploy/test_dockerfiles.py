"""The Dockerfiles: lint, what each image installs and runs, and the images' commands run outside
containers (the service image's environment is rebuilt from its Dockerfile; see conftest.py)."""

import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from sqlalchemy.engine import make_url

from service.registry import load_registry
from tests.deploy.conftest import (
    REPO,
    SERVICE_DOCKERFILE,
    TOOLS,
    TRAINER_DOCKERFILE,
    build_context,
    host_path,
    start_service,
)
from trainer.__main__ import SHIPPED
from trainer.config import TrainConfig

# Distributions the service must never carry (the trainer's stack), by normalised name.
TRAINING_STACK = {
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "tf2onnx",
    "pandas",
    "scikit-learn",
    "imbalanced-learn",
    "torch",
    "matplotlib",
}


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


@pytest.mark.parametrize("path", [SERVICE_DOCKERFILE, TRAINER_DOCKERFILE], ids=lambda p: p.name)
def test_hadolint_passes(path):
    result = subprocess.run([str(TOOLS / "hadolint"), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_dependencies_are_the_service_runtime_only():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {_normalise(Requirement(d).name) for d in dependencies}
    assert not names & TRAINING_STACK
    assert {"fastapi", "uvicorn", "onnxruntime"} <= names


def test_service_image_installs_the_project_without_extras_and_keeps_only_its_venv(service_stages):
    build, final = service_stages
    assert [shlex.split(run.value[0]) for run in build.all("RUN")][-1] == ["pip", "install", "--no-cache-dir", "."]
    assert [c.value[0] for c in build.all("COPY")] == [
        "pyproject.toml",
        "preprocess",
        "inference",
        "nids",
        "service",
    ]  # no trainer/
    assert not any("pip" in run.value[0] for run in final.all("RUN")), "nothing installed in the final stage"
    assert [(c.flags, c.value) for c in final.all("COPY") if c.flags] == [(("--from=build",), ("/opt/venv", "/opt/venv"))]
    assert final.env()["PATH"].startswith("/opt/venv/bin:")


def test_service_image_environment_holds_no_training_stack(service_image_python):
    listed = subprocess.run(
        [str(service_image_python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    )
    installed = {_normalise(p["name"]) for p in json.loads(listed.stdout)}
    assert {"nids", "fastapi", "uvicorn", "onnxruntime"} <= installed
    assert not installed & TRAINING_STACK


def test_service_image_has_the_driver_of_the_compose_database_url(service_image_python, compose):
    url = make_url(compose["services"]["service"]["environment"]["NIDS_DATABASE_URL"])
    driver = url.get_driver_name()  # postgresql+psycopg -> psycopg
    result = subprocess.run([str(service_image_python), "-c", f"import {driver}"], capture_output=True, text=True)
    assert result.returncode == 0, (
        f"the service image cannot reach {url.get_backend_name()}: {result.stderr.strip().splitlines()[-1]}"
    )


def test_service_image_runs_unprivileged_on_port_8000_with_a_healthcheck(service_stages):
    final = service_stages[-1]
    user = final.one("USER").value[0]
    assert user.split(":")[0] not in ("root", "0")
    assert final.one("EXPOSE").value == ("8000",)
    assert final.env()["NIDS_PORT"] == "8000"
    healthcheck = final.one("HEALTHCHECK")
    assert healthcheck.value[0] == "CMD" and "/healthz" in " ".join(healthcheck.value)
    assert "NIDS_WORKERS" in final.env(), "the worker count is a setting with a default"


def test_service_image_command_serves_with_the_compose_settings_and_its_healthcheck_tells(
    service_image_python, service_stages, service_environment, tmp_path
):
    """The image's CMD, run by the image's own packages with the compose environment (its worker
    count, production mode, the database), answers, web console included; the HEALTHCHECK command
    passes while it runs and fails once it is gone."""
    final = service_stages[-1]
    healthcheck = [str(service_image_python) if arg == "python" else arg for arg in final.one("HEALTHCHECK").value[1:]]
    with start_service(service_image_python, service_environment, tmp_path, list(final.one("CMD").value)) as service:
        port = service.url.rsplit(":", 1)[1]
        ready = httpx.get(f"{service.url}/readyz").json()
        assert ready["ready"] and ready["database"] == "ok"
        assert ready["models_loaded"] == len(json.loads((REPO / "artifacts" / "index.json").read_text())["models"])
        for page in ("/", "/static/style.css", "/docs"):  # package data of the installed service; /docs as compose sets it
            assert httpx.get(f"{service.url}{page}").status_code == 200, page
        assert subprocess.run(healthcheck, env={"NIDS_PORT": port}, timeout=10).returncode == 0
    log = service.log.read_text()
    assert log.count("Started server process") == int(service_environment["NIDS_WORKERS"])
    assert subprocess.run(healthcheck, env={"NIDS_PORT": port}, capture_output=True, timeout=10).returncode != 0


def test_build_context_holds_what_the_images_copy_and_no_secrets_or_data():
    context = build_context(SERVICE_DOCKERFILE)
    tops = {path.split("/")[0] for path in context}
    assert {"pyproject.toml", "README.md", "preprocess", "inference", "nids", "service", "trainer", "artifacts"} <= tops
    assert "artifacts/index.json" in context
    assert not {".venv", ".git", ".env", "data", ".pytest_cache", "bench", "tests"} & tops
    assert not [p for p in context if "__pycache__" in p or p.endswith(".pyc")]


def test_trainer_image_installs_the_train_extra_and_runs_the_trainer(trainer_stages, compose):
    (stage,) = trainer_stages
    assert stage.base.startswith("python:3.11-slim")
    assert [shlex.split(run.value[0]) for run in stage.all("RUN") if "pip" in run.value[0]] == [
        ["pip", "install", "--no-cache-dir", "./[train]"]
    ]
    assert stage.one("ENTRYPOINT").value == ("python", "-m", "trainer")
    assert stage.one("USER").value[0].split(":")[0] not in ("root", "0")
    command = list(stage.one("CMD").value)
    assert command[0] == "ship"
    # The default command reads and writes exactly where compose mounts the data and artifacts.
    trainer = compose["services"]["trainer"]
    data, out = command[command.index("--data-dir") + 1], command[command.index("--out") + 1]
    assert host_path(trainer, out) == host_path(compose["services"]["service"], "/app/artifacts")
    assert host_path(trainer, data)  # mounted


def _trainer_command(stage, data_dir: Path, out: Path, *extra: str) -> list[str]:
    """ENTRYPOINT + CMD of the trainer image, its mount points replaced by host folders."""
    command = list(stage.one("ENTRYPOINT").value) + list(stage.one("CMD").value) + list(extra)
    mounts = {"/data": str(data_dir), "/artifacts": str(out)}
    return [sys.executable if arg == "python" else mounts.get(arg, arg) for arg in command]


def test_trainer_default_command_says_which_data_file_is_missing(trainer_stages, tmp_path):
    (stage,) = trainer_stages
    result = subprocess.run(
        _trainer_command(stage, tmp_path / "empty", tmp_path / "out"), capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode != 0
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_trainer_default_command_retrains_every_shipped_model_into_servable_artifacts(trainer_stages, data_dir, tmp_path):
    """The image's default command on a small sample: every shipped model is written, indexed and
    loads in the service's registry (hash check and warm-up inference included)."""
    (stage,) = trainer_stages
    out = tmp_path / "artifacts"
    command = _trainer_command(stage, data_dir, out, "--limit-rows", "2000", "--max-epochs", "1")
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    index = json.loads((out / "index.json").read_text())
    shipped = {TrainConfig(d, t, a, forest_trees=o.get("forest_trees", 0)).model_id for d, t, a, _, o in SHIPPED}
    assert {m["id"] for m in index["models"]} == shipped
    registry = load_registry(out, 1, 1)
    assert set(registry.models) == {m["id"] for m in index["models"]}
