"""Nothing stored is lost: accounts survive a restart of the real server, the SQLite file runs in
WAL mode, and the schema is managed by Alembic (the documented `alembic upgrade head` works and keeps users)."""

import sqlite3
import subprocess
import sys

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.core.db import MIGRATIONS_DIR, create_db_engine


def test_accounts_and_tokens_survive_a_restart(start_service, new_username, password):
    username = new_username()
    with start_service() as first, httpx.Client(base_url=first.url) as client:
        assert client.post("/auth/register", json={"username": username, "password": password}).status_code == 201
        token = client.post("/auth/token", data={"username": username, "password": password}).json()["access_token"]
    with start_service() as second, httpx.Client(base_url=second.url) as client:
        assert client.post("/auth/token", data={"username": username, "password": password}).status_code == 200
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == username


def test_the_sqlite_file_itself_is_in_wal_mode(client, database_url):
    """WAL is stored in the file, so every connection (and every worker) uses it, not just the service's."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has its own concurrency control")
    with sqlite3.connect(url.database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {"NIDS_DATABASE_URL": url, "PATH": ""}
    return subprocess.run([sys.executable, "-m", "alembic", *args], env=env, capture_output=True, text=True, timeout=120)


def test_alembic_upgrade_head_is_the_documented_step_and_keeps_users(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = _alembic(url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    engine = create_db_engine(url)
    with engine.begin() as connection:
        head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        connection.execute(text("INSERT INTO users (username, password_hash, created_at) VALUES ('kept', 'h', '2026-01-01')"))
    assert _alembic(url, "upgrade", "head").returncode == 0  # again: nothing to do, nothing lost
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM users")).scalars().all() == ["kept"]
    engine.dispose()
