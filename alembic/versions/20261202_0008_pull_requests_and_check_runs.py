"""pull_requests and check_runs: forecasts on pull requests, check runs never left in progress

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _repository_fk(table: str) -> sa.ForeignKeyConstraint:
    """Rows go with their repository."""
    return sa.ForeignKeyConstraint(
        ["repository_id"],
        ["repositories.id"],
        name=op.f(f"fk_{table}_repository_id_repositories"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "pull_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("repository_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("head_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("head_repo", sa.String(length=255), nullable=False),
        sa.Column("base_ref", sa.String(length=255), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("comment_digest", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _repository_fk("pull_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_requests")),
        sa.UniqueConstraint("repository_id", "number", name="uq_pull_requests_repository_number"),
    )
    with op.batch_alter_table("pull_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pull_requests_repository_head", ["repository_id", "head_sha"], unique=False
        )
    op.create_table(
        "check_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("repository_id", ID, nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pull_number", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _repository_fk("check_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_runs")),
        sa.UniqueConstraint("github_id", name="uq_check_runs_github_id"),
    )
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_check_runs_repository_head", ["repository_id", "head_sha"], unique=False
        )
        batch_op.create_index(
            "ix_check_runs_status_updated", ["status", "updated_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_check_runs_status_updated")
        batch_op.drop_index("ix_check_runs_repository_head")
    op.drop_table("check_runs")
    with op.batch_alter_table("pull_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_requests_repository_head")
    op.drop_table("pull_requests")
