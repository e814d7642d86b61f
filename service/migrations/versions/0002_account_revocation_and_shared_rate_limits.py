"""accounts that can be disabled and tokens that can be revoked; rate-limit hits shared by every worker

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing accounts stay active, and the tokens they hold (generation 0) stay valid.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False, comment="Unix time at which the hit stops counting"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index("ix_rate_limit_hits_key_expires_at", "rate_limit_hits", ["key", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hits_key_expires_at", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_generation")
        batch.drop_column("is_active")
