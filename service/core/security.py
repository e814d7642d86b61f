"""Password hashing (argon2id through passlib) and access tokens (HS256 JWTs through python-jose)."""

import functools
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jose import JOSEError, jwt
from passlib.context import CryptContext

from service.core.config import Settings
from service.schemas.user import PASSWORD_MAX_LENGTH

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
# Ours are about 200 characters; a longer one is refused before any decoding.
MAX_TOKEN_LENGTH = 2048
# Tolerated clock difference between the workers or hosts that issue and check tokens.
CLOCK_SKEW_SECONDS = 30
# Accepted tokens one worker remembers (about 1 kB each); beyond it the least recently used are checked again.
VERIFIED_TOKENS_KEPT = 4096

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): passlib's default of 100 MiB per hash
# would let a burst of logins exhaust the machine's memory.
password_context = CryptContext(
    schemes=["argon2"], argon2__type="ID", argon2__memory_cost=19 * 1024, argon2__time_cost=2, argon2__parallelism=1
)
# Checked against when the username is unknown, so that a failed login takes the same time either way.
_DUMMY_HASH = password_context.hash(secrets.token_urlsafe(16))
# A hash keeps a core and 19 MiB busy. On threads of their own, one per core, hashes use no more of
# either: on FastAPI's 40 pool threads a burst of 64 logins held 1.2 GB in two workers, since the
# allocator keeps an arena of freed memory per thread. Other logins wait their turn.
_hasher = ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0)), thread_name_prefix="argon2")


def hash_password(password: str) -> str:
    return _hasher.submit(password_context.hash, password).result()


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash when the stored one uses outdated parameters."""
    return _hasher.submit(_verify, password, password_hash).result()


def _verify(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    if password_hash is None or len(password) > PASSWORD_MAX_LENGTH:  # no such user, or a password nobody can have
        password_context.verify(password[:PASSWORD_MAX_LENGTH], _DUMMY_HASH)
        return False, None
    return password_context.verify_and_update(password, password_hash)


def create_access_token(user_id: int, generation: int, settings: Settings) -> str:
    """`generation`: the user's token generation now; revoking the user's tokens starts a new one, which ends this token."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "gen": generation,
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    generation: int
    expires_at: int


def verify_token(token: str, settings: Settings) -> TokenClaims | None:
    """The token's user and generation if it is signed by us (with the current key or one being rotated out),
    current, and meant for this service; else None. Whether the user may still use it is the caller's question."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        claims = _verified(token, tuple(settings.verification_keys), settings.jwt_audience, settings.jwt_issuer)
    except _InvalidTokenError:
        return None
    # Checked on every use: a remembered token expires all the same. (Its `nbf` and `iat` only grow truer with time.)
    return claims if claims.expires_at >= time.time() - CLOCK_SKEW_SECONDS else None


class _InvalidTokenError(Exception):
    """Raised rather than returned, so that a refused token is never remembered."""


# Decoding and checking a token takes python-jose about 150 µs, more than predicting one record: each
# worker remembers the tokens it accepted, so a client that reuses its token pays that once.
@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified(token: str, keys: tuple[str, ...], audience: str, issuer: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            list(keys),
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={f"require_{claim}": True for claim in REQUIRED_CLAIMS} | {"leeway": CLOCK_SKEW_SECONDS},
        )
    except JOSEError:  # also covers failures that are not JWTError
        raise _InvalidTokenError from None
    if claims["iat"] > time.time() + CLOCK_SKEW_SECONDS:  # python-jose checks `nbf` but not an `iat` in the future
        raise _InvalidTokenError
    subject = claims["sub"]
    # Tokens issued before generations existed have no `gen`: they belong to generation 0.
    generation = claims.get("gen", 0)
    if not (isinstance(subject, str) and subject.isascii() and subject.isdecimal()):
        raise _InvalidTokenError
    if type(generation) is not int or generation < 0:  # bool is no generation
        raise _InvalidTokenError
    return TokenClaims(int(subject), generation, int(claims["exp"]))  # python-jose has checked that `exp` is a number
