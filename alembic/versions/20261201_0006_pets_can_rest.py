"""pets can rest: per-pet decay parameters (`decay:` in the config) and hibernation

Revision ID: 0006
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Every existing pet keeps the seed's decay (3-day grace, 2 a day) and is awake."""
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("grace_days", sa.Integer(), server_default=sa.text("3"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("decay_per_day", sa.Integer(), server_default=sa.text("2"), nullable=False)
        )
        batch_op.add_column(sa.Column("sleeping_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sleep_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the columns; pets fall back to the seed's decay and wake up."""
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_column("sleep_until")
        batch_op.drop_column("sleeping_since")
        batch_op.drop_column("decay_per_day")
        batch_op.drop_column("grace_days")
