"""file_fixes and commit_analyses.inverse_signature: hotspots and reverts in production

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "file_fixes",
        sa.Column(
            "repository_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("fixes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_file_fixes_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository_id", "path", name=op.f("pk_file_fixes")),
    )
    with op.batch_alter_table("commit_analyses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inverse_signature", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_commit_analyses_repository_inverse",
            ["repository_id", "inverse_signature"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("commit_analyses", schema=None) as batch_op:
        batch_op.drop_index("ix_commit_analyses_repository_inverse")
        batch_op.drop_column("inverse_signature")
    op.drop_table("file_fixes")
