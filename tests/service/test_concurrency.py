"""Concurrent requests against the real server (`python -m service`, uvicorn with 2 worker
processes, each with its own connection pool) on the test database, SQLite or PostgreSQL."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from service.core.db import create_db_engine

CLIENTS = 32


@pytest.fixture(scope="module")
def server(start_service, signing_key):
    # 64 registrations from one address: far more than the default limit per client allows.
    with start_service(workers=2, NIDS_REGISTER_LIMIT_PER_CLIENT="1000/minute") as service:
        yield service
    log = service.log.read_text(errors="replace")
    assert "Traceback" not in log and signing_key not in log, log[-3000:]
    assert " 500 " not in log and "unhandled" not in log, log[-3000:]


def _all_at_once(url: str, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    """Each request from its own client and connection, released together by a barrier."""
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, dict]) -> httpx.Response:
        path, body = request
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/healthz")  # connected before the barrier, so the posts really overlap
            barrier.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def _rows(database_url: str, username: str) -> int:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM users WHERE username = :u"), {"u": username}).scalar_one()
    finally:
        engine.dispose()


def test_one_username_registered_by_32_clients_at_once_is_one_account(server, database_url):
    username = f"race-{uuid.uuid4().hex[:10]}"
    passwords = [f"password number {i}" for i in range(CLIENTS)]
    responses = _all_at_once(server.url, [("/auth/register", {"username": username, "password": p}) for p in passwords])
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1), statuses
    assert _rows(database_url, username) == 1
    winner = passwords[statuses.index(201)]
    losers = [p for p in passwords if p != winner][:5]  # a few: more failures would meet the login rate limit
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/auth/token", data={"username": username, "password": winner}).status_code == 200
        for password in losers:  # no later registration overwrote the winner's password
            assert client.post("/auth/token", data={"username": username, "password": password}).status_code == 401


def test_32_different_users_registered_at_once_all_succeed(server, database_url):
    """Concurrent writes from two worker processes wait for each other (SQLite: WAL and a busy timeout)."""
    usernames = [f"crowd-{uuid.uuid4().hex[:10]}" for _ in range(CLIENTS)]
    responses = _all_at_once(server.url, [("/auth/register", {"username": u, "password": "crowd password"}) for u in usernames])
    assert [r.status_code for r in responses] == [201] * CLIENTS
    assert all(_rows(database_url, u) == 1 for u in usernames)


def test_an_oversized_authorization_header_is_refused_without_harm(server):
    with httpx.Client(base_url=server.url) as client:
        for size in (10_000, 200_000):
            response = client.get("/auth/me", headers={"Authorization": "Bearer " + "x" * size})
            assert response.status_code in (400, 401, 431), response.status_code
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/healthz").status_code == 200
