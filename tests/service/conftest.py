"""Fixtures for the service tests: an app serving the real artifacts (`artifacts_dir` from
tests/conftest.py), its database (SQLite, or PostgreSQL when NIDS_TEST_DATABASE_URL is set),
and fresh users with tokens."""

import json
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from preprocess.metadata import ModelMetadata, load_metadata
from service.core.config import Settings
from service.core.db import create_db_engine
from service.main import create_app

TEST_SECRET = "test-signing-key-" + "x" * 32
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def signing_key() -> str:
    return TEST_SECRET


@pytest.fixture(scope="session")
def password() -> str:
    """The password of every `user`."""
    return PASSWORD


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("NIDS_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'nids.db'}"
    engine = create_db_engine(url)
    with engine.begin() as connection:  # start from an empty schema so the migrations run for real
        connection.execute(text("DROP TABLE IF EXISTS users, alembic_version"))
    engine.dispose()
    return url


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
