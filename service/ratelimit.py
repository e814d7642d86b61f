"""Rate limits: failed logins per username and per client address, registrations per client address,
and optionally requests per user.

Moving windows from the `limits` library. Logins and registrations are counted where every worker
and replica sees the same counts: the service database, or the `limits` storage that
`NIDS_RATE_LIMIT_STORAGE` names (Redis). Requests per user are counted in each process's memory:
counting them in a shared store would add a round trip to every prediction.
"""

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from limits import parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine

from service.core.config import Settings
from service.core.db import create_db_engine
from service.ratelimit_storage import DatabaseStorage


class Limit:
    """One rate for one kind of key; `scope` keeps kinds apart (a username may look like an address)."""

    def __init__(self, rate: str, scope: str, storage: Storage) -> None:
        self.item, self.scope = parse(rate), scope
        self.limiter = MovingWindowRateLimiter(storage)

    def wait(self, key: str) -> int:
        """Seconds until `key` may count once more; 0 when it may now."""
        return self._wait(_stored(key))

    def hit(self, key: str) -> int:
        """Counts one for `key`; when its limit is reached already, counts nothing and says how long to wait."""
        stored = _stored(key)
        return 0 if self.limiter.hit(self.item, self.scope, stored) else self._wait(stored)

    def _wait(self, stored: str) -> int:
        if self.limiter.test(self.item, self.scope, stored):
            return 0
        reset = self.limiter.get_window_stats(self.item, self.scope, stored).reset_time
        return max(1, math.ceil(reset - time.time()))


def _stored(key: str) -> str:
    """Keys are usernames as typed (sometimes a password typed in the wrong field) and addresses: stores see digests."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class RateLimits:
    login_per_username: Limit
    login_per_client: Limit
    register_per_client: Limit
    per_user: Limit | None

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> "RateLimits":
        """`engine`: the service's own, for the database storage; without it, one is made from the settings."""
        if settings.rate_limit_storage:
            shared = storage_from_string(settings.rate_limit_storage)
        else:
            shared = DatabaseStorage(engine or create_db_engine(settings.database_url))
        return cls(
            Limit(settings.login_limit_per_username, "login-username", shared),
            Limit(settings.login_limit_per_client, "login-client", shared),
            Limit(settings.register_limit_per_client, "register-client", shared),
            Limit(settings.token_rate_limit, "user", MemoryStorage()) if settings.token_rate_limit else None,
        )

    def check_login(self, username: str, client: str) -> None:
        """Refuses, before any password is checked, a username or client with too many recent failures."""
        wait = max(self.login_per_username.wait(username), self.login_per_client.wait(client))
        if wait:
            raise too_many_requests(wait)

    def failed_login(self, username: str, client: str) -> None:
        self.login_per_username.hit(username)
        self.login_per_client.hit(client)

    def count_registration(self, client: str) -> None:
        """Counts every registration attempt that would hash a password, taken or not; refuses one over the limit."""
        if wait := self.register_per_client.hit(client):
            raise too_many_requests(wait)

    def count_request(self, user_id: int) -> None:
        if self.per_user and (wait := self.per_user.hit(str(user_id))):
            raise too_many_requests(wait)


def too_many_requests(wait: int) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many requests: try again later", {"Retry-After": str(wait)})


def client_address(request: Request) -> str:
    """The peer address; behind a proxy, uvicorn's --forwarded-allow-ips makes it the real client's."""
    return request.client.host if request.client else "unknown"


async def get_rate_limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]
