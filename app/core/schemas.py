"""The API's and the WebSocket's shapes, each written once (CONTRACTS.md, plus added fields).

The builders (`app.entities.shapes`, `app.read`, `app.web.api`, the pipeline) return these
models, and `app.web.api.openapi` takes its components from their JSON schemas, so a shape
changed here changes the document too. They live in `core` because every floor that builds
them (entities and jobs as well as web) may import `core` and nothing higher.

Times are ISO 8601 strings made by the builders (`datetime.isoformat()`), typed `date-time` in
the schema. Extra fields are allowed: clients tolerate additions, and renames are not made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from app.core.vocabulary import HEALTH_STATES, SPECIES, STATUSES

Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Score = Annotated[int, Field(ge=0, le=100)]

# The contract's values, from the one place they are written.
STATES = HEALTH_STATES


def _one_of(values: tuple[str, ...]) -> Callable[[str], str]:
    """A validator: the value must be one of `values` (the ORM hands plain strings)."""

    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"{value!r} is not one of {', '.join(values)}")
        return value

    return check


Species = Annotated[
    str, AfterValidator(_one_of(SPECIES)), Field(json_schema_extra={"enum": list(SPECIES)})
]
State = Annotated[
    str, AfterValidator(_one_of(STATES)), Field(json_schema_extra={"enum": list(STATES)})
]
Status = Annotated[
    str, AfterValidator(_one_of(STATUSES)), Field(json_schema_extra={"enum": list(STATUSES)})
]


def _type_is_required(schema: dict[str, Any]) -> None:
    """A WebSocket event's `type` has a default for the builders, but is always sent."""
    if "const" in schema.get("properties", {}).get("type", {}):
        schema["required"] = ["type", *schema.get("required", [])]


class Shape(BaseModel):
    """A JSON object of the API: extra fields allowed, dumped as it is built."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_type_is_required)

    @model_serializer(mode="wrap")
    def _drop_unset_nulls(self, handler: SerializerFunctionWrapHandler) -> Any:
        """An optional field the builder did not give is absent, not null."""
        data = handler(self)
        for name in type(self).model_fields:
            if name not in self.model_fields_set and getattr(self, name) is None:
                data.pop(name, None)
        return data

    def json_dict(self) -> dict[str, Any]:
        """The object as the API sends it: JSON types, optional fields only where given."""
        return self.model_dump(mode="json")


# --- the entity ---------------------------------------------------------------------------------


class EntityRepository(Shape):
    """The pet's repository: the contract's `{full_name, language}`, plus Tamagitto's id."""

    id: int | None = None
    full_name: str
    language: str | None


class Decay(Shape):
    """The repository's decay settings (`.tamagitto.yml`)."""

    grace_days: Annotated[int, Field(ge=1, le=60)]
    per_day: Annotated[int, Field(ge=0, le=10, description="0 is `decay: off`")]


class Entity(Shape):
    """CONTRACTS.md's entity object, plus emoji, cooldown, frozen, sleep and decay."""

    id: int
    name: str
    type: Species
    species: str
    emoji: str
    health_score: Score
    state: State
    status: Status
    generation: Annotated[int, Field(ge=1)]
    visual_url: str
    repository: EntityRepository
    repository_id: int
    last_updated: Time | None
    created_at: Time | None
    died_at: Time | None = None
    cooldown_expires: Time | None = None
    frozen: bool
    sleeping: bool = Field(description="hibernating: no decay, no death clock")
    sleeping_since: Time | None = None
    sleep_until: Time | None = Field(
        default=None, description="when the nap ends; null: at the next analysed commit"
    )
    decay: Decay


# --- repositories, history, analyses, errors ----------------------------------------------------


class Repository(Shape):
    """One of the signed-in person's GitHub repositories (`GET /repositories`)."""

    id: int = Field(description="GitHub's repository id")
    github_repo_id: int | None = None
    repository_id: int | None = Field(default=None, description="Tamagitto's id, once known")
    full_name: str
    private: bool
    language: str | None
    default_branch: str
    updated_at: str | None
    monitoring_enabled: bool
    can_monitor: bool | None = None
    entity: Entity | None = None


class HistoryPoint(Shape):
    """One point of `GET /entities/{id}/health-history`."""

    timestamp: Time
    health_score: Score
    change_reason: str
    commit_sha: str | None = None
    delta: int
    applied: int | None = None
    health_before: int | None = None
    scored_delta: int | None = None
    reasons: list[str] | None = None


class HistoryRow(Shape):
    """One stored change of a pet's health (`changes` of the history and pet-page responses)."""

    timestamp: Time
    health_score: Score
    health_before: int
    applied: int
    delta: int
    change_reason: str
    commit_sha: str | None = None
    generation: int | None = None
    decay_start: bool
    scored_delta: int | None = None
    committed_at: Time | None = None


class HealthSummary(Shape):
    """The `summary` of a pet's history: health now, its direction, and the days covered."""

    current_health: int
    trend: Literal["improving", "declining", "stable"]
    days_tracked: int


class Reason(Shape):
    """One line of a commit's score: what it was, how many points, the detail."""

    code: str
    points: float
    detail: str


class AnalysisRepository(Shape):
    id: int
    full_name: str


class AnalysisCommit(Shape):
    sha: str
    message: str
    author: str | None
    committed_at: Time | None


class QualityMetrics(Shape):
    overall_score: float
    complexity_score: float
    test_coverage_delta: float
    documentation_score: float
    linting_violations: int
    security_issues: int


class HealthImpact(Shape):
    delta: int
    reason: str
    reasons: list[Reason]
    applied: int | None = None
    health_after: int | None = None
    applied_note: Literal["max", "min", "thriving", "dead", "other"] | None = None


class Analysis(Shape):
    """One analysed commit (`GET /analysis/recent`)."""

    id: int
    repository: AnalysisRepository
    commit: AnalysisCommit
    quality_metrics: QualityMetrics
    health_impact: HealthImpact
    processed_at: Time | None


class Error(Shape):
    """Every error's body: `{error, message, details?, timestamp}`."""

    error: str
    message: str
    details: dict[str, Any] | None = None
    cooldown_expires: Time | None = None
    timestamp: Time


# --- the WebSocket events -----------------------------------------------------------------------


class Snapshot(Shape):
    """Sent on connect: every pet the socket may see."""

    type: Literal["snapshot"] = "snapshot"
    entities: list[Entity]


class HealthUpdate(Shape):
    """CONTRACTS.md `health_update`, with the ids the web tier filters on."""

    type: Literal["health_update"] = "health_update"
    entity_id: int
    repository_id: int
    health_score: int
    state: State
    status: Status | None = None
    visual_url: str
    sleeping: bool | None = None
    change_reason: str
    timestamp: Time


class StatusChange(Shape):
    """CONTRACTS.md `status_change`, with the ids the web tier filters on."""

    type: Literal["status_change"] = "status_change"
    entity_id: int
    repository_id: int
    old_status: Status
    new_status: Status
    health_score: int
    message: str
    reason: Literal["hungry"] | None = Field(
        default=None, description="`hungry`: decay started (the status itself did not change)"
    )
    visual_url: str | None = None
    timestamp: Time


class AnalysisComplete(Shape):
    """CONTRACTS.md `analysis_complete`, with the ids and the commit's first line."""

    type: Literal["analysis_complete"] = "analysis_complete"
    repository: str
    repository_id: int
    entity_id: int | None = None
    commit_sha: str
    commit_message: str | None = None
    author: str | None = None
    quality_score: float
    health_delta: int
    reasons: list[Any] | None = None
    timestamp: Time | None


# Every model the OpenAPI document names, under the name it uses.
COMPONENTS: tuple[type[Shape], ...] = (
    Error,
    Entity,
    Repository,
    HistoryPoint,
    Reason,
    Analysis,
    Snapshot,
    HealthUpdate,
    StatusChange,
    AnalysisComplete,
)
