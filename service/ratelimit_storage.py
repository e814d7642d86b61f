"""A `limits` storage in the service database, so that every worker and replica counts the same attempts.

Each hit is a row that expires at the end of its window; `limits`' moving-window strategy drives it
like its memory or Redis storages. Keys are stored as sha256 digests, which fit a fixed-width column.
"""

import hashlib
import time

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from service.models import RateLimitHit

# How often a process sweeps out every expired row, including those of keys nobody tries again.
PRUNE_INTERVAL_S = 60
# pg_advisory_xact_lock(namespace, key): the first number sets these locks apart from any others.
KEY_LOCK_NAMESPACE, PRUNE_LOCK_NAMESPACE = 0x726C, 0x7270  # "rl", "rp"


class DatabaseStorage(Storage, MovingWindowSupport):
    """Moving windows in the `rate_limit_hits` table; time is this host's wall clock, as for `limits`' own storages."""

    STORAGE_SCHEME = None  # built from the service's engine, never from a URL

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._next_prune = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        digest, now = _digest(key), time.time()
        with self.engine.begin() as connection:
            _lock(connection, digest)  # the count and the insert below are one step for every process
            self._prune(connection, now)
            live = connection.scalar(select(func.count()).where(RateLimitHit.key == digest, RateLimitHit.expires_at > now))
            if live + amount > limit:
                return False
            connection.execute(insert(RateLimitHit), [{"key": digest, "expires_at": now + expiry}] * amount)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit still counting was made, how many hits count) as `limits` expects."""
        now = time.time()
        with self.engine.connect() as connection:
            oldest_expiry, live = connection.execute(
                select(func.min(RateLimitHit.expires_at), func.count()).where(
                    RateLimitHit.key == _digest(key), RateLimitHit.expires_at > now
                )
            ).one()
        return (oldest_expiry - expiry, live) if live else (now, 0)

    # The rest of `limits`' storage interface. The fixed-window counters count the hits of the window
    # opened by the first one that still counts, so one table serves both strategies.

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        digest, now = _digest(key), time.time()
        with self.engine.begin() as connection:
            _lock(connection, digest)
            window_end = self._window_end(connection, digest, now) or now + expiry
            connection.execute(insert(RateLimitHit), [{"key": digest, "expires_at": window_end}] * amount)
            return connection.scalar(select(func.count()).where(RateLimitHit.key == digest, RateLimitHit.expires_at > now))

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(func.count()).where(RateLimitHit.key == _digest(key), RateLimitHit.expires_at > time.time())
            )

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self.engine.connect() as connection:
            return self._window_end(connection, _digest(key), now) or now

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(RateLimitHit)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(RateLimitHit).where(RateLimitHit.key == _digest(key)))

    @staticmethod
    def _window_end(connection: Connection, digest: str, now: float) -> float | None:
        return connection.scalar(
            select(func.min(RateLimitHit.expires_at)).where(RateLimitHit.key == digest, RateLimitHit.expires_at > now)
        )

    def _prune(self, connection: Connection, now: float) -> None:
        """Now and then deletes every expired row; one process at a time, so that two sweeps never wait for each other."""
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_INTERVAL_S
        sweeping_elsewhere = f"SELECT NOT pg_try_advisory_xact_lock({PRUNE_LOCK_NAMESPACE}, 0)"
        if connection.dialect.name == "postgresql" and connection.exec_driver_sql(sweeping_elsewhere).scalar():
            return
        connection.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= now))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _lock(connection: Connection, digest: str) -> None:
    """Serialises the writers of one key until the transaction ends (SQLite: every writer, as it always does)."""
    if connection.dialect.name == "postgresql":
        key = int(digest[:8], 16) - 2**31  # the lock's second number is a signed 32-bit integer
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({KEY_LOCK_NAMESPACE}, {key})")
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
