"""Rate limits: failed logins per username and per client address, and optionally requests per user.

Moving windows from the `limits` library, counted in this process's memory: each worker process
counts on its own, so with N workers a client gets at most N times the configured rate.
"""

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service.core.config import Settings


class Limit:
    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def wait(self, key: str) -> int:
        """Seconds until `key` may count once more; 0 when it may now."""
        if self.limiter.test(self.item, key):
            return 0
        reset = self.limiter.get_window_stats(self.item, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def hit(self, key: str) -> int:
        """Counts one for `key`; when its limit is reached already, counts nothing and says how long to wait."""
        return 0 if self.limiter.hit(self.item, key) else self.wait(key)


@dataclass(frozen=True)
class RateLimits:
    login_per_username: Limit
    login_per_client: Limit
    per_user: Limit | None

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimits":
        return cls(
            Limit(settings.login_limit_per_username),
            Limit(settings.login_limit_per_client),
            Limit(settings.token_rate_limit) if settings.token_rate_limit else None,
        )

    def check_login(self, username: str, client: str) -> None:
        """Refuses, before any password is checked, a username or client with too many recent failures."""
        wait = max(self.login_per_username.wait(username), self.login_per_client.wait(client))
        if wait:
            raise too_many_requests(wait)

    def failed_login(self, username: str, client: str) -> None:
        self.login_per_username.hit(username)
        self.login_per_client.hit(client)

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
