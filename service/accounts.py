"""Accounts as token checks see them, and the changes that end a user's tokens.

What a worker knows of each user's account is cached, so that checking a token costs no database read on most requests.

A worker reads a user's account (active? which token generation?) at most once per `ttl` seconds;
a change made elsewhere (another worker or replica, the admin command) is seen within that time.
A change made through this worker (`forget`) is seen at once.
"""

import threading
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from service.core.security import TokenClaims
from service.models import User

# Users whose account one worker keeps at once; beyond it the least recently used are read again.
MAX_CACHED_ACCOUNTS = 10_000


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    is_active: bool
    token_generation: int


class AccountCache:
    def __init__(self, engine: Engine, ttl: float) -> None:
        self.engine = engine
        # ttl 0: no cache, every request reads the account.
        self._cache: TTLCache | None = TTLCache(MAX_CACHED_ACCOUNTS, ttl) if ttl > 0 else None
        self._lock = threading.Lock()  # requests read it on the event loop, logouts change it from the thread pool
        self._forgotten = 0  # counts `forget` calls: a read that began before one must not be cached after it

    def cached(self, user_id: int) -> tuple[bool, Account | None]:
        """(whether this worker knows the account, the account: None when there is no such user)."""
        if self._cache is None:
            return False, None
        with self._lock:
            account = self._cache.get(user_id, _UNKNOWN)
        return (False, None) if account is _UNKNOWN else (True, account)

    def cached_for(self, claims: TokenClaims) -> tuple[bool, Account | None]:
        """As `cached`, for a token: a token newer than what this worker knows was issued after a revocation made
        elsewhere, so the account it knows cannot judge it (not known)."""
        known, account = self.cached(claims.user_id)
        if known and account is not None and claims.generation > account.token_generation:
            return False, None
        return known, account

    def load(self, user_id: int) -> Account | None:
        """Reads the account from the database (one primary-key lookup) and remembers it; blocking."""
        with self._lock:
            forgotten = self._forgotten
        with self.engine.connect() as connection:
            row = connection.execute(
                select(User.id, User.username, User.is_active, User.token_generation).where(User.id == user_id)
            ).one_or_none()
        account = Account(*row) if row else None
        if self._cache is not None:
            with self._lock:
                if forgotten == self._forgotten:
                    self._cache[user_id] = account
        return account

    def forget(self, user_id: int) -> None:
        """After this worker changed the account: its next request reads it afresh."""
        if self._cache is not None:
            with self._lock:
                self._forgotten += 1
                self._cache.pop(user_id, None)


_UNKNOWN = object()


def admits(account: Account | None, claims: TokenClaims) -> bool:
    """Refused: a deleted or disabled user, and a token of an earlier generation (revoked)."""
    return account is not None and account.is_active and claims.generation == account.token_generation


def revoke_tokens(session: Session, user_id: int) -> bool:
    """Starts a new token generation for the user, which ends every token issued before; False if there is no such user."""
    statement = update(User).where(User.id == user_id).values(token_generation=User.token_generation + 1)
    revoked = session.execute(statement).rowcount == 1
    session.commit()
    return revoked


def set_active(session: Session, user_id: int, active: bool) -> bool:
    """Enables or disables the account; False if there is no such user. Either way a new token generation
    starts: disabling ends every token, and after enabling, the tokens of the next login are newer than
    what workers cached of the disabled account, so they are checked afresh instead of refused."""
    statement = update(User).where(User.id == user_id).values(is_active=active, token_generation=User.token_generation + 1)
    changed = session.execute(statement).rowcount == 1
    session.commit()
    return changed
