"""Service settings, read from `NIDS_*` environment variables."""

import logging
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

import limits
from limits.storage import SCHEMES, MovingWindowSupport, Storage
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32
RATE_HELP = "a rate in the `limits` notation, e.g. '10/5 minutes' or '100/second'"


def _comma_separated(value: object) -> object:
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


class Settings(BaseSettings):
    # Errors never echo the input: it holds the signing key and the database password.
    model_config = SettingsConfigDict(env_prefix="NIDS_", hide_input_in_errors=True)

    env: Literal["development", "production"] = "development"
    database_url: str = Field("sqlite:///./data/nids.db", description="SQLAlchemy URL: SQLite file or postgresql+psycopg://")
    jwt_secret: SecretStr | None = Field(None, description=f"HS256 signing key, at least {MIN_SECRET_LENGTH} characters")
    jwt_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        [], description="comma-separated former signing keys, still accepted for verification only while they rotate out"
    )
    jwt_issuer: str = "nids"
    jwt_audience: str = "nids-api"
    access_token_minutes: int = Field(60, ge=1, le=24 * 60)
    artifacts_dir: Path = Path("artifacts")
    batch_limit: int = Field(1000, ge=1, description="most records accepted by one /predict/batch request")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="larger request bodies are refused with 413 before parsing")
    login_limit_per_username: str = Field("10/5 minutes", description=f"failed logins per username: {RATE_HELP}")
    login_limit_per_client: str = Field("50/5 minutes", description=f"failed logins per client address: {RATE_HELP}")
    register_limit_per_client: str = Field("5/hour", description=f"registrations per client address: {RATE_HELP}")
    rate_limit_storage: str | None = Field(
        None,
        description="where login and registration attempts are counted: unset for the service database (shared by every "
        "worker and replica), or a `limits` storage URL such as redis://host:6379 (memory:// counts per process: tests only)",
    )
    token_rate_limit: str | None = Field(
        None, description=f"requests per user on token-protected routes, off when unset (counted per process): {RATE_HELP}"
    )
    account_cache_seconds: float = Field(
        5,
        ge=0,
        le=300,
        description="how long a worker trusts what it last read of a user's account: a token revoked, or an account "
        "disabled or deleted, by another worker, replica or the admin command is refused within this time",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        [], description="comma-separated browser origins allowed to call the API"
    )
    docs_enabled: bool | None = Field(None, description="/docs, /redoc and /openapi.json; default: on in development only")
    log_tracebacks: bool = Field(
        False, description="log the traceback of an unexpected error (debugging only: it may hold data)"
    )
    onnx_intra_op_threads: int = Field(1, ge=1, description="threads one inference may use")
    onnx_inter_op_threads: int = Field(1, ge=1)
    metrics_enabled: bool = Field(True, description="Prometheus metrics at /metrics (or on metrics_port), open like /healthz")
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="serve /metrics on this port of `host` instead of the API's (python -m service only)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="of the JSON log lines on stderr")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1)

    _split_lists = field_validator("jwt_previous_secrets", "cors_origins", mode="before")(_comma_separated)

    @field_validator("login_limit_per_username", "login_limit_per_client", "register_limit_per_client", "token_rate_limit")
    @classmethod
    def _parse_rate(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                limits.parse(value)
            except ValueError:
                raise ValueError(f"{value!r} is not {RATE_HELP}") from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _check_storage(cls, url: str | None) -> str | None:
        # A typo, or a storage without moving windows (memcached, the async ones), stops start-up; connecting waits for use.
        if url is not None:
            storage = SCHEMES.get(urlparse(url).scheme)
            if storage is None or not issubclass(storage, Storage) or not issubclass(storage, MovingWindowSupport):
                raise ValueError(f"{url!r} is not a `limits` storage URL with moving windows, such as redis://host:6379")
        return url

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        # An origin is scheme://host[:port]: a path or trailing slash would never match a browser's Origin header.
        for origin in origins:
            scheme, _, rest = origin.partition("://")
            if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
                raise ValueError(f"{origin!r} is not an origin such as https://console.example.org")
        return origins

    @model_validator(mode="after")
    def _require_signing_key(self) -> "Settings":
        if self.docs_enabled is None:
            self.docs_enabled = self.env == "development"
        short = [s for s in self.jwt_previous_secrets if len(s.get_secret_value()) < MIN_SECRET_LENGTH]
        if short and self.env == "production":
            raise ValueError(f"every NIDS_JWT_PREVIOUS_SECRETS key must have at least {MIN_SECRET_LENGTH} characters")
        length = len(self.jwt_secret.get_secret_value()) if self.jwt_secret else 0
        if length >= MIN_SECRET_LENGTH:
            return self
        if self.env == "production":
            raise ValueError(f"NIDS_JWT_SECRET must be set to at least {MIN_SECRET_LENGTH} characters when NIDS_ENV=production")
        if self.jwt_secret is None:
            log.warning("NIDS_JWT_SECRET is not set: using a random key, so tokens die with this process")
            self.jwt_secret = SecretStr(secrets.token_urlsafe(48))
        else:
            log.warning("NIDS_JWT_SECRET is shorter than %d characters: acceptable only in development", MIN_SECRET_LENGTH)
        return self

    @property
    def signing_key(self) -> str:
        return self.jwt_secret.get_secret_value()

    @property
    def verification_keys(self) -> list[str]:
        """The signing key first, then the keys being rotated out."""
        return [self.signing_key, *(s.get_secret_value() for s in self.jwt_previous_secrets)]
