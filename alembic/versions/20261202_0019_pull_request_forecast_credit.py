"""pull_requests: the author's login and the head's forecast delta (the forecaster achievement)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Older pull requests get their author with their next event, their delta with the next
    forecast."""
    with op.batch_alter_table("pull_requests") as batch:
        batch.add_column(sa.Column("author_login", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("forecast_delta", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pull_requests") as batch:
        batch.drop_column("forecast_delta")
        batch.drop_column("author_login")
