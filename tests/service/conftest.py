"""Fixtures for the service tests: an app serving the real artifacts (`artifacts_dir` from
tests/conftest.py), its database (SQLite, or PostgreSQL when NIDS_TEST_DATABASE_URL is set),
and fresh users with tokens."""

import io
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
import time_machine
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import Server, free_port, serve
from preprocess.metadata import ModelMetadata, load_metadata
from service.codecs import ARROW_MEDIA_TYPE, CSV_MEDIA_TYPE
from service.core.config import Settings
from service.main import create_app
from service.ratelimit import RateLimits

TEST_SECRET = "test-signing-key-" + "x" * 32
PASSWORD = "correct horse battery"


def metric_samples(text: str) -> Counter:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    values = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def metric_value(samples: Counter, name: str, **labels) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def _csv(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pa_csv.write_csv(table, out)
    return out.getvalue()


def _arrow(table: pa.Table) -> bytes:
    out = io.BytesIO()
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
    return out.getvalue()


# A table as a /predict/batch body of each columnar media type.
COLUMNAR_ENCODERS = {CSV_MEDIA_TYPE: _csv, ARROW_MEDIA_TYPE: _arrow}


def oip_body(described: dict, records: list[dict]) -> dict:
    """An Open Inference Protocol JSON request of these records: a tensor per input of the model's OIP metadata
    (`described`), and per optional input the records have."""
    tensors = described["inputs"] + [t for t in described["optional_inputs"] if t["name"] in records[0]]
    return {
        "inputs": [
            {"name": t["name"], "datatype": t["datatype"], "shape": [len(records)], "data": [r[t["name"]] for r in records]}
            for t in tensors
        ]
    }


@pytest.fixture(scope="session")
def signing_key() -> str:
    return TEST_SECRET


@pytest.fixture(scope="session")
def password() -> str:
    """The password of every `user`."""
    return PASSWORD


@pytest.fixture(scope="session")
def database_url(new_database_url) -> str:
    """The database every service test shares, migrated by the first app that starts on it."""
    return new_database_url("service")


@pytest.fixture(scope="session")
def make_settings(database_url, artifacts_dir) -> Callable[..., Settings]:
    def make(**overrides) -> Settings:
        values = {"artifacts_dir": artifacts_dir, "database_url": database_url, "jwt_secret": TEST_SECRET} | overrides
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def app(make_settings):
    return create_app(make_settings())


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def new_username() -> Callable[[], str]:
    return lambda: f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def user(client, new_username) -> dict:
    """A freshly registered user: {'id', 'username', 'password'}."""
    username = new_username()
    response = client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json() | {"password": PASSWORD}


@pytest.fixture
def auth(client, user) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": user["username"], "password": user["password"]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def index(artifacts_dir) -> dict:
    return json.loads((artifacts_dir / "index.json").read_text())


@pytest.fixture(scope="session")
def metadata(index, artifacts_dir) -> dict[str, ModelMetadata]:
    return {entry["id"]: load_metadata(artifacts_dir / entry["path"] / "metadata.json") for entry in index["models"]}


@pytest.fixture(scope="session")
def examples(index, metadata) -> dict[str, dict[str, dict]]:
    """dataset -> {class: real test record}, as the default model's metadata ships them."""
    return {dataset: metadata[model_id].examples for dataset, model_id in index["dataset_defaults"].items()}


@pytest.fixture
def replace_state(app) -> Iterator[Callable[..., None]]:
    """Replaces attributes of the shared app's state for one test, and puts the originals back after it.
    (monkeypatch cannot: starlette's State keeps attributes outside `__dict__`, so its undo deletes them.)"""
    originals = {}

    def replace(**values) -> None:
        for name, value in values.items():
            originals.setdefault(name, getattr(app.state, name))
            setattr(app.state, name, value)

    yield replace
    for name, value in originals.items():
        setattr(app.state, name, value)


@pytest.fixture
def set_rate_limits(replace_state, make_settings) -> Callable[..., RateLimits]:
    """Gives the shared app fresh rate limits built from these settings, for one test."""

    def set_limits(**overrides) -> RateLimits:
        limits = RateLimits.from_settings(make_settings(**overrides))
        replace_state(rate_limits=limits)
        return limits

    return set_limits


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The wall clock the rate limits and tokens read, moved on with `clock.shift(seconds)` instead of sleeping."""
    with time_machine.travel(time.time(), tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def start_service(database_url, artifacts_dir, tmp_path_factory) -> Callable[..., AbstractContextManager[Server]]:
    """Runs `python -m service` (uvicorn) on a free loopback port against the test database, with these
    NIDS_* settings; yields it once /readyz answers and stops it after. Its output goes to `server.log`."""

    def start(workers: int = 1, **settings: str) -> AbstractContextManager[Server]:
        port = free_port()
        env = {
            "NIDS_ARTIFACTS_DIR": str(artifacts_dir),
            "NIDS_DATABASE_URL": database_url,
            "NIDS_JWT_SECRET": TEST_SECRET,
            "NIDS_PORT": str(port),
            "NIDS_WORKERS": str(workers),
            # As for the suite's apps (below): the servers share one database, so one count of registrations.
            "NIDS_REGISTER_LIMIT_PER_CLIENT": "100000/hour",
        } | settings
        return serve(
            [sys.executable, "-m", "service"],
            port,
            tmp_path_factory.mktemp("service") / "service.log",
            "/readyz",
            env,
            timeout=120,
        )

    return start


@pytest.fixture(scope="session", autouse=True)
def _registrations_unlimited_for_the_suite() -> Iterator[None]:
    """The suite registers a user per test from the one TestClient address: registrations are limited only
    where a test sets that limit itself. (Autouse: in place before the session's apps read their settings.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NIDS_REGISTER_LIMIT_PER_CLIENT", "100000/hour")
        yield


@pytest.fixture(scope="session")
def bare_client(tmp_path_factory, artifacts_dir, make_settings) -> Iterator[TestClient]:
    """An app serving one shipped model as it was before it had a training profile and background rows."""
    root = tmp_path_factory.mktemp("bare-artifacts")
    model_id = "nsl-kdd-multiclass-cnn"
    index = json.loads((artifacts_dir / "index.json").read_text())
    index["models"] = [entry for entry in index["models"] if entry["id"] == model_id]
    index["dataset_defaults"] = {"nsl-kdd": model_id}
    (root / "index.json").write_text(json.dumps(index))
    (root / model_id).mkdir()
    for source in (artifacts_dir / model_id).iterdir():
        (root / model_id / source.name).symlink_to(source)
    meta = load_metadata(artifacts_dir / model_id / "metadata.json")
    meta = meta.model_copy(update={"training_profile": None, "background": None})
    (root / model_id / "metadata.json").unlink()
    (root / model_id / "metadata.json").write_text(meta.model_dump_json())
    with TestClient(create_app(make_settings(artifacts_dir=root))) as client:
        yield client


@pytest.fixture(scope="session")
def two_workers(start_service, tmp_path_factory) -> Iterator[Server]:
    """`python -m service` with two uvicorn workers, shared by the metrics and log tests (which compare before/after);
    its alerts go to a JSON-lines file."""
    alerts = tmp_path_factory.mktemp("two-workers-alerts") / "alerts.jsonl"
    with start_service(workers=2, NIDS_ALERTS_JSONL=str(alerts)) as service:
        yield service
