"""The schema comes from Alembic migrations and behaves the same on SQLite and PostgreSQL."""

import multiprocessing

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.core.db import create_db_engine, migrate
from service.main import create_app
from service.models import Base


def test_migrations_create_exactly_the_models_tables(client, app):
    with app.state.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"


def test_users_survive_a_restart(make_settings, user):
    with TestClient(create_app(make_settings())) as restarted:
        response = restarted.post("/auth/token", data={"username": user["username"], "password": user["password"]})
        assert response.status_code == 200


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if app.state.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with app.state.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000


def _migrate_after(barrier, url: str) -> None:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    barrier.wait()  # every worker is connected: now all upgrade at the same moment
    migrate(engine)


def test_workers_starting_together_migrate_once(new_database_url):
    """Several workers upgrade the same empty database at the same moment: all succeed."""
    url = new_database_url("fresh")
    context = multiprocessing.get_context("fork")  # children start at once, with nothing to import
    barrier = context.Barrier(6)
    workers = [context.Process(target=_migrate_after, args=(barrier, url)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * 6
    with create_db_engine(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0001"]
