"""Database tables (SQLAlchemy 2.0 declarative); the schema itself is managed by Alembic migrations."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Double, Index, Integer, MetaData, String, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

USERNAME_MAX_LENGTH = 32
RATE_LIMIT_KEY_LENGTH = 64  # a sha256 in hex

# Named constraints, so migrations can refer to them identically on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    # A disabled account can neither log in nor use the tokens it holds.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Tokens carry the generation they were issued in; revoking them all starts a new one.
    token_generation: Mapped[int] = mapped_column(default=0, server_default="0")


class RateLimitHit(Base):
    """One counted attempt (a failed login, a registration) under one rate-limit key, kept until it leaves the window."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_key_expires_at", "key", "expires_at"),)

    # BIGINT on PostgreSQL; INTEGER on SQLite, where only that spelling makes an auto-incremented rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(RATE_LIMIT_KEY_LENGTH))
    expires_at: Mapped[float] = mapped_column(Double(), comment="Unix time at which the hit stops counting")
