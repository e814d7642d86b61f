"""The per-request token check (`service.deps.get_current_user`) in one process: with the worker's
account and token caches, and without each, against a fresh SQLite database, as ratios to the cached
check measured in the same run.

    python -m bench.auth_check [--seconds 2]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from service.accounts import AccountCache
from service.core import security
from service.core.config import Settings
from service.core.db import create_db_engine, migrate
from service.core.security import create_access_token
from service.deps import get_current_user
from service.ratelimit import RateLimits


async def _median_us(check, seconds: float) -> float:
    """Median of 100-call rounds, in microseconds per call, for about `seconds`."""
    await check()
    rounds: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rounds) < 3:
        started = time.perf_counter()
        for _ in range(100):
            await check()
        rounds.append((time.perf_counter() - started) / 100 * 1e6)
    return statistics.median(rounds)


async def measure(seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(jwt_secret="bench-" + "k" * 40, database_url=f"sqlite:///{Path(folder) / 'bench.db'}")
        engine = create_db_engine(settings.database_url)
        migrate(engine)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO users (username, password_hash, created_at) VALUES ('b', 'h', '2026-01-01')"))
        token = create_access_token(1, 0, settings)
        limits = RateLimits.from_settings(settings, engine)
        cached, uncached = AccountCache(engine, 5), AccountCache(engine, 0)

        def decoding_every_time():
            security._verified.cache_clear()
            return get_current_user(token, settings, cached, limits)

        results = {
            "both caches (the default)": await _median_us(lambda: get_current_user(token, settings, cached, limits), seconds),
            "token decoded every time": await _median_us(decoding_every_time, seconds),
            "account read every time": await _median_us(lambda: get_current_user(token, settings, uncached, limits), seconds),
        }
        engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per variant")
    args = parser.parse_args()
    results = asyncio.run(measure(args.seconds))
    baseline = next(iter(results.values()))
    for name, micros in results.items():
        print(f"{name:28} {micros:9.1f} µs per request  x{micros / baseline:7.1f}")


if __name__ == "__main__":
    main()
