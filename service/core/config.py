"""Service settings, read from `NIDS_*` environment variables."""

import logging
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIDS_")

    env: Literal["development", "production"] = "development"
    database_url: str = Field("sqlite:///./data/nids.db", description="SQLAlchemy URL: SQLite file or postgresql+psycopg://")
    jwt_secret: SecretStr | None = Field(None, description=f"HS256 signing key, at least {MIN_SECRET_LENGTH} characters")
    jwt_issuer: str = "nids"
    jwt_audience: str = "nids-api"
    access_token_minutes: int = Field(60, ge=1, le=24 * 60)
    artifacts_dir: Path = Path("artifacts")
    batch_limit: int = Field(1000, ge=1, description="most records accepted by one /predict/batch request")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="larger request bodies are refused with 413 before parsing")
    onnx_intra_op_threads: int = Field(1, ge=1, description="threads one inference may use")
    onnx_inter_op_threads: int = Field(1, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _require_signing_key(self) -> "Settings":
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
