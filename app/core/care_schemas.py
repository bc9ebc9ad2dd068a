"""The caretakers' shapes: credit, streaks, achievements, the `achievement` event, secrets.

Written once like the rest of `app.core.schemas`; the OpenAPI document names `COMPONENTS`
(the `achievement` event among them) beside that module's. Health "added" and "taken away"
are sums of each person's share of the commits' scored deltas; both are positive numbers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.core.schemas import Reason, Shape, Time

NotifyKind = Literal["slack", "discord"]


class Person(Shape):
    """Someone a commit credits: their GitHub login when linked, else a name and email hash."""

    key: str = Field(description="stable id: `gh:<login>`, `email:<hash>` or `name:<hash>`")
    name: str
    login: str | None = None
    bot: bool = False


class BestCommit(Shape):
    """A person's commit that did the pet the most good (in the period), with its reasons."""

    sha: str
    message: str
    points: int = Field(description="this person's share of the commit's delta")
    delta: int = Field(description="the commit's whole delta")
    committed_at: Time | None
    reasons: list[Reason]


class Streak(Shape):
    """Consecutive UTC days with a commit that did not lower health."""

    current: Annotated[int, Field(ge=0)]
    best: Annotated[int, Field(ge=0)]
    last_day: str | None = Field(default=None, json_schema_extra={"format": "date"})


class Caretaker(Shape):
    """One person's care of the pet over a period."""

    person: Person
    added: Annotated[int, Field(ge=0, description="health added (sum of positive shares)")]
    taken_away: Annotated[int, Field(ge=0, description="health taken away (negative shares)")]
    net: int
    commits: Annotated[int, Field(ge=0)]
    last_commit_at: Time | None = None
    best_commit: BestCommit | None = None
    streak: Streak | None = None


class CaretakerPeriod(Shape):
    """The caretakers of one period, best first (`since` null: all time)."""

    since: Time | None
    caretakers: list[Caretaker]
    commits: Annotated[int, Field(ge=0)]
    people: Annotated[int, Field(ge=0)]


class EarnedAchievement(Shape):
    """An achievement granted once, pointing at the commit that earned it."""

    code: str
    emoji: str
    title: str
    description: str
    person: Person
    commit_sha: str
    earned_at: Time


class Caretakers(Shape):
    """`GET /entities/{id}/caretakers` and its public variant."""

    entity_id: int
    repository_id: int
    enabled: bool = Field(description="false when `caretakers: off` hides them")
    days: int
    period: CaretakerPeriod | None = None
    all_time: CaretakerPeriod | None = None
    streak: Streak | None = Field(default=None, description="the pet's own streak")
    achievements: list[EarnedAchievement] = Field(default_factory=list)


class AchievementEvent(Shape):
    """The WebSocket's `achievement` message, like `status_change`, sent once per grant."""

    type: Literal["achievement"] = "achievement"
    entity_id: int
    repository_id: int
    repository: str
    code: str
    emoji: str
    title: str
    description: str
    person: Person
    commit_sha: str
    message: str
    timestamp: Time


class NotifySecretInfo(Shape):
    """A stored webhook secret as the API shows it: never the URL, only its last characters."""

    name: str
    kind: NotifyKind
    hint: str = Field(description="the URL's last characters, to tell secrets apart")
    created_at: Time | None = None
    updated_at: Time | None = None


COMPONENTS: tuple[type[Shape], ...] = (
    Person,
    BestCommit,
    Streak,
    Caretaker,
    CaretakerPeriod,
    EarnedAchievement,
    Caretakers,
    AchievementEvent,
    NotifySecretInfo,
)

__all__ = [
    "COMPONENTS",
    "AchievementEvent",
    "BestCommit",
    "Caretaker",
    "CaretakerPeriod",
    "Caretakers",
    "EarnedAchievement",
    "NotifyKind",
    "NotifySecretInfo",
    "Person",
    "Streak",
]
