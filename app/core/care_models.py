"""The caretakers' tables: who each analysed commit credits, what they earned, and notifications.

Kept apart from `app.core.models` (imported at its end, so `Base.metadata` always holds them),
because they are one feature's rows. Everything here is derived from `commit_analyses` and the
pet's history, except the webhook secrets an admin stores and the notifications sent: credits
and achievements can be rebuilt from the analyses at any time, so nothing here is a counter
that could drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, BigId, Json, utcnow


class AnalysisCredit(Base):
    """One person's share of one analysed commit (the author, and each `Co-authored-by:`).

    `points` is the person's share of the commit's scored delta (shares add up to it), and
    `delta`, `lint_clean`, `complexity` and `day` repeat what the streak and achievement rules
    read of the commit, so their windows need no JSON. The (repository, person, day, time)
    index covers the caretakers aggregate (grouped by person and day in index order) and the
    achievement rules' windows as index-only scans on PostgreSQL; the (repository, person,
    points, time) one finds a best commit in one step.
    """

    __tablename__ = "analysis_credits"
    __table_args__ = (
        UniqueConstraint("analysis_id", "person_key", name="uq_analysis_credits_analysis_person"),
        Index(
            "ix_analysis_credits_repository_time",
            "repository_id",
            "committed_at",
            postgresql_include=["person_key", "points", "delta", "day"],
        ),
        Index(
            "ix_analysis_credits_repository_person",
            "repository_id",
            "person_key",
            "day",
            "committed_at",
            postgresql_include=["points", "delta", "lint_clean", "complexity", "role"],
        ),
        Index(
            "ix_analysis_credits_repository_person_points",
            "repository_id",
            "person_key",
            "points",
            "committed_at",
        ),
        Index("ix_analysis_credits_repository_email", "repository_id", "email_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("commit_analyses.id", ondelete="CASCADE"), index=True
    )
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    person_key: Mapped[str] = mapped_column(String(80))
    login: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    email_hash: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(12), default="author")
    points: Mapped[int] = mapped_column(Integer, default=0)
    delta: Mapped[int] = mapped_column(Integer, default=0)
    lint_clean: Mapped[bool] = mapped_column(Boolean, default=True)
    complexity: Mapped[int] = mapped_column(Integer, default=0)
    committed_at: Mapped[datetime]
    day: Mapped[int] = mapped_column(Integer)


class Achievement(Base):
    """An achievement granted once per person and repository, pointing at the commit that
    earned it. Rows are written where commits are applied, from the rules in
    `app.entities.achievements` over the stored analyses."""

    __tablename__ = "achievements"
    __table_args__ = (
        UniqueConstraint(
            "repository_id", "person_key", "code", name="uq_achievements_repository_person_code"
        ),
        Index("ix_achievements_repository_earned", "repository_id", "earned_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("commit_analyses.id", ondelete="SET NULL"), index=True
    )
    person_key: Mapped[str] = mapped_column(String(80))
    login: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    code: Mapped[str] = mapped_column(String(32))
    sha: Mapped[str] = mapped_column(String(64))
    earned_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaretakerBackfill(Base):
    """A repository whose analyses predate credits: the backfill job credits them in order."""

    __tablename__ = "caretaker_backfill"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotifySecret(Base):
    """A Slack or Discord incoming-webhook URL, encrypted like user tokens (AES-256-GCM).

    The repository's `.github/tamagitto.yml` names it (`notify: {slack: NAME}`); the URL itself
    never appears in the repository, the API's answers or the logs. `hint` is the URL's last
    characters, so an admin can tell two secrets apart.
    """

    __tablename__ = "notify_secrets"
    __table_args__ = (
        UniqueConstraint("repository_id", "name", name="uq_notify_secrets_repository_name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    hint: Mapped[str] = mapped_column(String(16), default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(Base):
    """One message to one destination: the outbox that makes delivery at-least-once.

    `event_id` names what happened (a history row, a digest week), and with `target` it is
    unique, so an event never makes two messages for one destination. A row is `pending` until
    a delivery succeeds (`sent`), gives up (`failed`), or a newer state of the same pet makes it
    moot (`superseded`); `sending` is a claim a crashed worker's row loses after a while.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "target", name="uq_notifications_event_target"),
        Index("ix_notifications_status_due", "status", "due_at"),
        Index("ix_notifications_repository_target_sent", "repository_id", "target", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(100))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class NotifyCursor(Base):
    """How far the notifier has read the health history (by row id)."""

    __tablename__ = "notify_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


__all__ = [
    "Achievement",
    "AnalysisCredit",
    "CaretakerBackfill",
    "Notification",
    "NotifyCursor",
    "NotifySecret",
]
