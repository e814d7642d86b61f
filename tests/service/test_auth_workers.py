"""Login and registration limits, and revocations, hold across the worker processes of the real server
(`python -m service` with 2 uvicorn workers) on the test database, SQLite or PostgreSQL.

Every request goes out on a fresh connection, so the workers share them out between themselves.
uvicorn trusts X-Forwarded-For from loopback, so each test gives its requests a client address of
its own: counts of one test do not reach another's.
"""

import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

PER_USERNAME, PER_CLIENT, REGISTRATIONS = 4, 6, 5
CACHE_SECONDS = 2.0
# Time for a request in flight when the bound runs out, on a loaded machine.
MARGIN_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(start_service, signing_key):
    environment = {
        "NIDS_LOGIN_LIMIT_PER_USERNAME": f"{PER_USERNAME}/minute",
        "NIDS_LOGIN_LIMIT_PER_CLIENT": f"{PER_CLIENT}/minute",
        "NIDS_REGISTER_LIMIT_PER_CLIENT": f"{REGISTRATIONS}/minute",
        "NIDS_ACCOUNT_CACHE_SECONDS": str(CACHE_SECONDS),
    }
    with start_service(workers=2, **environment) as service:
        yield service
    log = service.log.read_text(errors="replace")
    assert "Traceback" not in log and signing_key not in log and " 500 " not in log, log[-3000:]


def _address() -> str:
    return f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"  # the benchmarking range: no real client


def _send(server, method: str, path: str, address: str, **kwargs) -> httpx.Response:
    """One request on a connection of its own, from `address`."""
    headers = {"X-Forwarded-For": address} | kwargs.pop("headers", {})
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=60, **kwargs)


def _register(server, password: str) -> str:
    username = f"worker-{uuid.uuid4().hex[:10]}"
    assert (
        _send(server, "POST", "/auth/register", _address(), json={"username": username, "password": password}).status_code == 201
    )
    return username


def _login(server, username: str, password: str, address: str | None = None) -> httpx.Response:
    return _send(server, "POST", "/auth/token", address or _address(), data={"username": username, "password": password})


def _me(server, token: str) -> int:
    return _send(server, "GET", "/auth/me", _address(), headers={"Authorization": f"Bearer {token}"}).status_code


def test_failed_logins_per_username_hold_at_the_limit_across_workers(server, password):
    username = _register(server, password)
    statuses = [_login(server, username, "wrong password").status_code for _ in range(PER_USERNAME + 3)]
    assert statuses == [401] * PER_USERNAME + [429] * 3
    locked = _login(server, username, password)  # even the right password waits now
    assert locked.status_code == 429 and 1 <= int(locked.headers["retry-after"]) <= 60


def test_failed_logins_per_client_hold_at_the_limit_across_workers(server):
    address = _address()
    statuses = [
        _login(server, f"guess-{uuid.uuid4().hex[:8]}", "wrong password", address).status_code for _ in range(PER_CLIENT + 3)
    ]
    assert statuses == [401] * PER_CLIENT + [429] * 3
    assert _login(server, f"guess-{uuid.uuid4().hex[:8]}", "wrong password").status_code == 401  # other clients go on


def test_registrations_per_client_hold_at_the_limit_across_workers(server, password):
    address = _address()
    bodies = [{"username": f"signup-{uuid.uuid4().hex[:8]}", "password": password} for _ in range(REGISTRATIONS + 3)]
    responses = [_send(server, "POST", "/auth/register", address, json=body) for body in bodies]
    assert [r.status_code for r in responses] == [201] * REGISTRATIONS + [429] * 3
    assert 1 <= int(responses[-1].headers["retry-after"]) <= 60


def _refused_everywhere_by(server, token: str, deadline: float) -> None:
    """From `deadline` on, every worker refuses the token: 20 requests on fresh connections are all 401."""
    time.sleep(max(0.0, deadline - time.monotonic()))
    assert [_me(server, token) for _ in range(20)] == [401] * 20


def test_logout_in_one_worker_is_honoured_by_every_worker_within_the_bound(server, password):
    username = _register(server, password)
    token = _login(server, username, password).json()["access_token"]
    assert [_me(server, token) for _ in range(10)] == [200] * 10  # both workers now hold the account in their caches
    logout = _send(server, "POST", "/auth/logout", _address(), headers={"Authorization": f"Bearer {token}"})
    assert logout.status_code == 204
    _refused_everywhere_by(server, token, time.monotonic() + CACHE_SECONDS + MARGIN_SECONDS)

    fresh = _login(server, username, password).json()["access_token"]
    assert [_me(server, fresh) for _ in range(10)] == [200] * 10  # newer than either cache: read afresh, not refused


def _admin(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "NIDS_DATABASE_URL": database_url, "NIDS_JWT_SECRET": "x" * 40}
    command = [sys.executable, "-m", "service.admin", *args]
    return subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)


def test_the_admin_command_revokes_and_disables_across_workers_within_the_bound(server, database_url, password):
    username = _register(server, password)
    token = _login(server, username, password).json()["access_token"]
    assert [_me(server, token) for _ in range(10)] == [200] * 10
    revoked = _admin(database_url, "revoke", username)
    assert revoked.returncode == 0, revoked.stderr
    _refused_everywhere_by(server, token, time.monotonic() + CACHE_SECONDS + MARGIN_SECONDS)

    token = _login(server, username, password).json()["access_token"]
    assert _admin(database_url, "disable", username).returncode == 0
    _refused_everywhere_by(server, token, time.monotonic() + CACHE_SECONDS + MARGIN_SECONDS)
    assert _login(server, username, password).status_code == 401

    assert _admin(database_url, "enable", username).returncode == 0
    token = _login(server, username, password).json()["access_token"]
    assert [_me(server, token) for _ in range(10)] == [200] * 10


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> str:
    """A throw-away Redis server on a free loopback port, with nothing saved to disk."""
    redis = pytest.importorskip("redis", reason="the `redis` extra is not installed")
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (Debian: redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline and process.poll() is None, "redis-server did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_limits_counted_in_redis_hold_across_workers(start_service, redis_url, password):
    import redis

    environment = {
        "NIDS_RATE_LIMIT_STORAGE": redis_url,
        "NIDS_LOGIN_LIMIT_PER_USERNAME": f"{PER_USERNAME}/minute",
        "NIDS_REGISTER_LIMIT_PER_CLIENT": f"{REGISTRATIONS}/minute",
    }
    with start_service(workers=2, **environment) as service:
        username = _register(service, password)
        statuses = [_login(service, username, "wrong password").status_code for _ in range(PER_USERNAME + 3)]
        assert statuses == [401] * PER_USERNAME + [429] * 3
        address = _address()
        bodies = [{"username": f"signup-{uuid.uuid4().hex[:8]}", "password": password} for _ in range(REGISTRATIONS + 2)]
        statuses = [_send(service, "POST", "/auth/register", address, json=body).status_code for body in bodies]
        assert statuses == [201] * REGISTRATIONS + [429] * 2
    digest = hashlib.sha256(username.encode()).hexdigest().encode()
    assert any(digest in key for key in redis.Redis.from_url(redis_url).scan_iter())  # counted there, and not as typed
