"""Fixtures every test folder sees: the real datasets, the shipped artifacts and throwaway databases;
and the markers that say what a test needs beyond `pip install -e '.[train,dev,bench]'`."""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from preprocess.defaults import DATA_DIR_ENV
from preprocess.defaults import data_dir as configured_data_dir

REPO = Path(__file__).resolve().parents[1]
# A test needs what the fixtures it asks for (directly or through other fixtures) need. `make test-quick`
# deselects these markers; pyproject.toml registers them.
MARKER_OF_FIXTURE = {
    "data_dir": "data",  # the real datasets
    "browser": "browser",  # Debian's Chromium
    "compose": "compose",  # Debian's docker-compose
    "service_image_python": "slow",  # a fresh venv with the service image's packages, installed from PyPI
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets, where the trainer looks for them (--data-dir's default); tests skip without them."""
    path = configured_data_dir().resolve()  # absolute: tests run commands in other working directories
    if not (path / "nsl-kdd" / "KDDTrain+.txt.gz").is_file():
        pytest.skip(f"real datasets not found in {path}: set {DATA_DIR_ENV}")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    return REPO / "artifacts"


@pytest.fixture(scope="session")
def new_database_url(tmp_path_factory) -> Iterator[Callable[[str], str]]:
    """Makes URLs of empty databases, so migrations run from nothing and tests' tables stay apart: a new
    SQLite file, or, when NIDS_TEST_DATABASE_URL names a PostgreSQL database, a new schema in it (the
    URL sets its search_path), dropped at the end of the session."""
    server = os.environ.get("NIDS_TEST_DATABASE_URL")
    engine = create_engine(server) if server else None
    schemas: list[str] = []

    def new(name: str) -> str:
        if engine is None:
            return f"sqlite:///{tmp_path_factory.mktemp(name) / 'nids.db'}"
        schema = f"{name}_{uuid.uuid4().hex[:10]}"
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        return make_url(server).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    yield new
    if engine is not None:
        with engine.begin() as connection:
            for schema in schemas:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()
