"""The schema comes from Alembic migrations and behaves the same on SQLite and PostgreSQL."""

import multiprocessing

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.core.db import MIGRATIONS_DIR, create_db_engine, migrate
from service.main import create_app
from service.models import Base

ALEMBIC_CONFIG = Config()
ALEMBIC_CONFIG.set_main_option("script_location", str(MIGRATIONS_DIR))
HEAD = ScriptDirectory.from_config(ALEMBIC_CONFIG).get_current_head()


def _version(connection) -> list[str]:
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()


def test_migrations_create_exactly_the_models_tables(client, app):
    with app.state.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert _version(connection) == [HEAD] and HEAD != "0001"


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
        assert _version(connection) == [HEAD]


def _alembic(engine, action, revision: str) -> None:
    with engine.connect() as connection:
        ALEMBIC_CONFIG.attributes["connection"] = connection
        action(ALEMBIC_CONFIG, revision)
        connection.commit()


def test_upgrading_from_the_previous_head_keeps_accounts_and_their_tokens(new_database_url):
    """A database made by the first migration, with a user in it, upgrades to the head: the user is
    active and at token generation 0, which the tokens issued before the upgrade (without `gen`) belong to."""
    engine = create_db_engine(new_database_url("previous"))
    _alembic(engine, command.upgrade, "0001")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (username, password_hash, created_at) VALUES ('kept', 'h', '2026-01-01T00:00:00+00:00')")
        )
    migrate(engine)
    with engine.connect() as connection:
        assert _version(connection) == [HEAD]
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        row = connection.execute(text("SELECT username, is_active, token_generation FROM users")).one()
        assert (row.username, bool(row.is_active), row.token_generation) == ("kept", True, 0)
        assert connection.execute(text("SELECT count(*) FROM rate_limit_hits")).scalar_one() == 0
    engine.dispose()


def test_the_newest_migration_downgrades_to_the_previous_head_and_upgrades_again(new_database_url):
    engine = create_db_engine(new_database_url("downgrade"))
    migrate(engine)
    previous = ScriptDirectory.from_config(ALEMBIC_CONFIG).get_revision(HEAD).down_revision
    _alembic(engine, command.downgrade, previous)
    with engine.connect() as connection:
        assert _version(connection) == [previous]
    migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
