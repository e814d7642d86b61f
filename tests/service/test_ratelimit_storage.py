"""The database storage behind the login and registration limits: `limits`' own strategies count in it
exactly as in memory, several processes hitting one key at once never get more than the limit, keys
are not stored as typed, and expired hits are swept out."""

import multiprocessing
import time
import uuid

import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from sqlalchemy import text

from service.core.db import create_db_engine
from service.ratelimit import RateLimits
from service.ratelimit_storage import PRUNE_INTERVAL_S, DatabaseStorage


@pytest.fixture
def storage(app, client) -> DatabaseStorage:  # `client` has run the migrations
    return DatabaseStorage(app.state.engine)


def _key() -> str:
    return f"key-{uuid.uuid4().hex}"


def test_moving_windows_count_as_in_memory(storage, clock):
    """The same hits, at the same moments, get the same answers from the database as from `limits`' memory storage."""
    item = parse("3/minute")
    database, memory = MovingWindowRateLimiter(storage), MovingWindowRateLimiter(MemoryStorage())
    key = _key()
    answers = {"database": [], "memory": []}
    for step in (0, 10, 10, 10, 25, 10, 30):  # seconds between hits: the first ones leave the window after 60 s
        clock.shift(step)
        for name, limiter in (("database", database), ("memory", memory)):
            stats = limiter.get_window_stats(item, key)
            answers[name].append((limiter.test(item, key), limiter.hit(item, key), round(stats.reset_time), stats.remaining))
    assert answers["database"] == answers["memory"]
    assert [hit for _, hit, _, _ in answers["database"]] == [True, True, True, False, False, True, True]


def test_fixed_windows_count_as_in_memory(storage, clock):
    item = parse("2/minute")
    database, memory = FixedWindowRateLimiter(storage), FixedWindowRateLimiter(MemoryStorage())
    key = _key()
    answers = {"database": [], "memory": []}
    for step in (0, 20, 20, 25, 5, 50):
        clock.shift(step)
        for name, limiter in (("database", database), ("memory", memory)):
            answers[name].append((limiter.hit(item, key), limiter.get_window_stats(item, key).remaining))
    assert answers["database"] == answers["memory"]
    assert [hit for hit, _ in answers["database"]] == [True, True, False, True, True, False]  # a new window at 65 s


def test_clear_reset_and_check(storage):
    limiter, item, key = MovingWindowRateLimiter(storage), parse("1/hour"), _key()
    assert limiter.hit(item, key) and not limiter.hit(item, key)
    limiter.clear(item, key)
    assert limiter.hit(item, key)
    assert storage.check() and storage.reset() >= 1 and storage.get(key) == 0


def test_usernames_and_addresses_are_stored_as_digests_not_as_typed(app, make_settings):
    secret_looking = f"my-password-typed-as-a-username-{uuid.uuid4().hex}"
    limits = RateLimits.from_settings(make_settings(), app.state.engine)
    limits.failed_login(secret_looking, "198.51.100.23")
    memory = RateLimits.from_settings(make_settings(rate_limit_storage="memory://"))
    memory.failed_login(secret_looking, "198.51.100.23")
    with app.state.engine.connect() as connection:
        keys = connection.execute(text("SELECT key FROM rate_limit_hits")).scalars().all()
    stored = " ".join(keys + list(memory.login_per_username.limiter.storage.events))
    assert keys and secret_looking not in stored and "198.51.100.23" not in stored


def test_expired_hits_are_swept_out(storage, app, clock):
    limiter = MovingWindowRateLimiter(storage)
    for _ in range(3):
        limiter.hit(parse("5/second"), _key())
    count = "SELECT count(*) FROM rate_limit_hits WHERE expires_at <= :now"
    clock.shift(PRUNE_INTERVAL_S + 2)  # past those hits' window, and time for a sweep
    with app.state.engine.connect() as connection:
        assert connection.execute(text(count), {"now": time.time()}).scalar_one() >= 3
    limiter.hit(parse("5/second"), _key())  # any hit sweeps, now and then
    with app.state.engine.connect() as connection:
        assert connection.execute(text(count), {"now": time.time()}).scalar_one() == 0


ATTEMPTS, LIMIT = 8, 5


def _hit_after(barrier, url: str, key: str, results) -> None:
    limiter = MovingWindowRateLimiter(DatabaseStorage(create_db_engine(url)))
    barrier.wait()  # every process is ready: now all hit the same key at the same moment
    results.put(limiter.hit(parse(f"{LIMIT}/minute"), key))


def test_processes_hitting_one_key_at_once_get_exactly_the_limit(database_url, client):
    context = multiprocessing.get_context("fork")
    barrier, results, key = context.Barrier(ATTEMPTS), context.Queue(), _key()
    processes = [context.Process(target=_hit_after, args=(barrier, database_url, key, results)) for _ in range(ATTEMPTS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * ATTEMPTS
    accepted = [results.get(timeout=5) for _ in range(ATTEMPTS)]
    assert accepted.count(True) == LIMIT
