"""Database schema: SQLAlchemy 2 typed models shared by PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from app.core.decay import DECAY_PER_DAY, GRACE_DAYS

# BIGINT ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL for indexing and compactness, plain JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both databases (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; refuse naive datetimes, which are always a bug here."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back aware UTC datetimes whatever the database returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Timezone-aware now; the only clock the models use for defaults."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json}


class Installation(Base):
    """A GitHub App installation on a user or organization account."""

    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(BigInteger)
    account_login: Mapped[str] = mapped_column(String(255))
    account_type: Mapped[str] = mapped_column(String(32), default="User")
    repository_selection: Mapped[str] = mapped_column(String(16), default="all")
    permissions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    suspended_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Repository(Base):
    """A repository the App can see; `monitoring_enabled` says whether its pet lives."""

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    github_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    installation_id: Mapped[int | None] = mapped_column(
        ForeignKey("installations.id", ondelete="SET NULL"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(255), index=True)
    owner_login: Mapped[str] = mapped_column(String(255))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    language: Mapped[str | None] = mapped_column(String(64))
    monitoring_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_sha: Mapped[str | None] = mapped_column(String(64))
    last_event_at: Mapped[datetime | None]
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    entities: Mapped[list[Entity]] = relationship(back_populates="repository")


class Entity(Base):
    """One generation of a repository's pet."""

    __tablename__ = "entities"
    __table_args__ = (
        CheckConstraint("health >= 0 AND health <= 100", name="health_range"),
        CheckConstraint("status IN ('alive', 'dying', 'dead')", name="status_values"),
        UniqueConstraint("repository_id", "generation", name="uq_entities_repository_generation"),
        # One current pet per repository, enforced by the database.
        Index(
            "uq_entities_current",
            "repository_id",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
        # Room on each page for HOT updates: the hourly decay rewrites many rows in place.
        {"postgresql_with": {"fillfactor": 60}},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(100))
    species: Mapped[str] = mapped_column(String(16))
    subspecies: Mapped[str | None] = mapped_column(String(32))
    health: Mapped[int] = mapped_column(Integer, default=100)
    status: Mapped[str] = mapped_column(String(8), default="alive")
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    born_at: Mapped[datetime] = mapped_column(default=utcnow)
    died_at: Mapped[datetime | None]
    last_commit_at: Mapped[datetime | None]
    last_decay_at: Mapped[datetime | None]
    zero_since: Mapped[datetime | None]
    # Decay parameters from `decay:` in .github/tamagitto.yml, per pet so the hourly SQL can
    # read them (decay_per_day 0 is `decay: off`).
    grace_days: Mapped[int] = mapped_column(
        Integer, default=GRACE_DAYS, server_default=text(str(GRACE_DAYS))
    )
    decay_per_day: Mapped[int] = mapped_column(
        Integer, default=DECAY_PER_DAY, server_default=text(str(DECAY_PER_DAY))
    )
    # Hibernation: asleep while sleeping_since is set, until the next commit or sleep_until.
    sleeping_since: Mapped[datetime | None]
    sleep_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    repository: Mapped[Repository] = relationship(back_populates="entities")


class EntityImage(Base):
    """A picture of one pet generation in one health state (generated or sprite)."""

    __tablename__ = "entity_images"
    __table_args__ = (UniqueConstraint("entity_id", "state", name="uq_entity_images_entity_state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommitAnalysis(Base):
    """The analysis of one commit; unique per repository so health changes once per commit."""

    __tablename__ = "commit_analyses"
    __table_args__ = (
        UniqueConstraint("repository_id", "sha", name="uq_commit_analyses_repository_sha"),
        Index("ix_commit_analyses_repository_processed", "repository_id", "processed_at"),
        Index("ix_commit_analyses_repository_inverse", "repository_id", "inverse_signature"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    sha: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_email: Mapped[str | None] = mapped_column(String(255))
    # The author's GitHub login when GitHub links the commit to an account (credit, caretakers).
    author_login: Mapped[str | None] = mapped_column(String(255))
    committed_at: Mapped[datetime | None]
    quality_score: Mapped[float] = mapped_column(Float, default=0.0)
    complexity_score: Mapped[float] = mapped_column(Float, default=0.0)
    test_coverage_delta: Mapped[float] = mapped_column(Float, default=0.0)
    documentation_score: Mapped[float] = mapped_column(Float, default=0.0)
    linting_violations: Mapped[int] = mapped_column(Integer, default=0)
    security_issues: Mapped[int] = mapped_column(Integer, default=0)
    health_delta: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The signature of this commit's exact inverse (app/analysis/change.py): a later commit
    # with that signature is its revert, message or not.
    inverse_signature: Mapped[str | None] = mapped_column(String(16))


class FileFix(Base):
    """How many fix commits touched a source file: the hotspot signal (app/analysis/hotspots.py).

    Written in the transaction that applies the fix, in commit order, so a commit only ever
    sees the fixes that came before it.
    """

    __tablename__ = "file_fixes"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    fixes: Mapped[int] = mapped_column(Integer, default=0)


class PendingCommit(Base):
    """A commit queued for analysis but not applied to the pet yet: the order commits apply in.

    `after_sha` is the commit that must change the pet first while it is pending too (the
    previous commit of the push, or the push's `before`). `analysis` holds a finished analysis
    that waits for it; NULL while the commit's own job has not analysed it. The row goes away in
    the transaction that applies the commit, so `commit_analyses` alone says what was applied.
    """

    __tablename__ = "pending_commits"
    __table_args__ = (
        UniqueConstraint("repository_id", "sha", name="uq_pending_commits_repository_sha"),
        Index("ix_pending_commits_repository_after", "repository_id", "after_sha"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    sha: Mapped[str] = mapped_column(String(64))
    after_sha: Mapped[str | None] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PullRequest(Base):
    """An open pull request into a monitored branch, as far as its forecast needs it.

    `head_sha` is the newest head we were told about: a forecast job for an older head finds
    it superseded and skips. `comment_id` and `comment_digest` keep the one optional comment
    per pull request, edited in place only when the forecast changed.
    """

    __tablename__ = "pull_requests"
    __table_args__ = (
        UniqueConstraint("repository_id", "number", name="uq_pull_requests_repository_number"),
        Index("ix_pull_requests_repository_head", "repository_id", "head_sha"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    head_at: Mapped[datetime | None]  # the event's `pull_request.updated_at`: older ones lose
    head_repo: Mapped[str] = mapped_column(String(255), default="")
    base_ref: Mapped[str] = mapped_column(String(255))
    base_sha: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="open")
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    comment_digest: Mapped[str | None] = mapped_column(String(64))
    author_login: Mapped[str | None] = mapped_column(String(255))  # `pull_request.user.login`
    forecast_delta: Mapped[int | None] = mapped_column(Integer)  # the head's, once forecast
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CheckRun(Base):
    """A check run this App created: which commit, for what (`forecast` or `commit`), and
    whether it is still in progress (the sweep completes any left behind)."""

    __tablename__ = "check_runs"
    __table_args__ = (
        UniqueConstraint("github_id", name="uq_check_runs_github_id"),
        Index("ix_check_runs_repository_head", "repository_id", "head_sha"),
        Index("ix_check_runs_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    github_id: Mapped[int] = mapped_column(BigInteger)
    head_sha: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    pull_number: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HealthHistory(Base):
    """Every change of a pet's health, with why it happened."""

    __tablename__ = "health_history"
    __table_args__ = (Index("ix_health_history_entity_time", "entity_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    health_score: Mapped[int] = mapped_column(Integer)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("commit_analyses.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person signed in through the App's user authorization; tokens stored encrypted."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    github_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    login: Mapped[str] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(1024))
    email: Mapped[str | None] = mapped_column(String(320))
    token_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_key_id: Mapped[str | None] = mapped_column(String(64))
    token_expires_at: Mapped[datetime | None]
    refresh_token_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RevokedSession(Base):
    """Session JWT ids revoked by logout, kept until the JWT would have expired anyway."""

    __tablename__ = "revoked_sessions"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Job(Base):
    """Durable job rows for embedded mode, so a restart never loses a queued webhook."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    function: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(Json, default=list)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


# The caretakers' tables share this metadata (imported last: they build on the names above).
from app.core import care_models as _care_models  # noqa: E402, F401

__all__ = [
    "Base",
    "CheckRun",
    "CommitAnalysis",
    "Entity",
    "EntityImage",
    "HealthHistory",
    "Installation",
    "Job",
    "PendingCommit",
    "PullRequest",
    "Repository",
    "RevokedSession",
    "User",
    "func",
    "utcnow",
]
