"""The JSON bodies `/api` answers with, one model per kind of answer.

`app.web.api.openapi` names these in its route table and publishes their JSON schemas as
components, so a body is described once, here. The shapes inside them (the entity, an analysis,
an error) are `app.core.schemas`'s. `User` and `MonitoredRepository` are built from their
models (`users.user_json`, `repositories.monitor_json`); the envelopes around them are still
dicts in the handlers, held to these models by the tests, which validate real responses
against the document. Extra fields are allowed, as everywhere in the API.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.core.schemas import (
    Analysis,
    Entity,
    HealthSummary,
    HistoryPoint,
    HistoryRow,
    Repository,
    Shape,
    Time,
)

Day = Annotated[str, Field(json_schema_extra={"format": "date"})]


# --- sign-in ------------------------------------------------------------------------------------


class OAuthStart(Shape):
    """Where to send the person to sign in, and the state GitHub will hand back."""

    oauth_url: str
    state: str


class User(Shape):
    """The signed-in person; never anything about tokens."""

    id: int
    github_id: int
    username: str
    avatar_url: str | None
    email: str | None


class Session(Shape):
    """A new session: the bearer token, who it is for, and when it expires."""

    session_token: str
    user: User
    expires_at: Time


class Refreshed(Shape):
    """A renewed session token (the old one is revoked)."""

    session_token: str
    expires_at: Time


class Me(Shape):
    """The signed-in person and the end of this session."""

    user: User
    session_expires_at: Time


class Message(Shape):
    """A sentence saying what was done."""

    message: str


# --- repositories -------------------------------------------------------------------------------


class RepositoryPage(Shape):
    """One page of the person's repositories where the App is installed."""

    repositories: list[Repository]
    total_count: int
    has_more: bool


class MonitoredRepository(Shape):
    """The contract's `repository` object of the monitor response."""

    id: int
    github_repo_id: int
    full_name: str
    monitoring_active: bool
    last_monitored_at: Time | None


class Monitoring(Shape):
    """Monitoring is on: the repository and its pet (hatched if there was none)."""

    repository: MonitoredRepository
    entity: Entity
    message: str


class Unmonitored(Shape):
    """Monitoring is off; `entity_archived` says whether a pet was frozen."""

    message: str
    entity_archived: bool


# --- pets ---------------------------------------------------------------------------------------


class EntityList(Shape):
    """All the person's pets."""

    entities: list[Entity]


class TrendPoint(Shape):
    """The last score of one day."""

    date: Day
    score: int


class CurrentEntity(Shape):
    """The most recently active pet and its daily scores."""

    entity: Entity
    health_trend: list[TrendPoint]


class EntityReply(Shape):
    """One pet."""

    entity: Entity


class EntityMessage(Shape):
    """One pet and what was done to it."""

    entity: Entity
    message: str


class Revived(Shape):
    """The next generation; `cooldown_expires` is null once it has hatched."""

    entity: Entity
    cooldown_expires: Time | None
    message: str


class History(Shape):
    """A pet's health over time: points, a summary, and the stored changes."""

    entity_id: int
    health_history: list[HistoryPoint]
    summary: HealthSummary
    changes: list[HistoryRow] = Field(default_factory=list)


# --- analyses and the public pet page -----------------------------------------------------------


class AnalysisList(Shape):
    """Recent commit analyses, newest first."""

    analyses: list[Analysis]


class Queued(Shape):
    """The look for new commits is queued."""

    message: str
    estimated_completion: Time


class PublicRepository(Shape):
    """A public repository as its pet page shows it."""

    id: int
    full_name: str
    language: str | None
    default_branch: str
    monitoring_enabled: bool


class PublicPet(Shape):
    """A public repository's pet, its history and its recent analyses."""

    repository: PublicRepository
    entity: Entity
    health_history: list[HistoryPoint]
    summary: HealthSummary
    recent_analyses: list[Analysis]
    changes: list[HistoryRow] = Field(default_factory=list)


class Document(Shape):
    """An OpenAPI 3.1 document (this one)."""
