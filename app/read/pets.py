"""Queries and shapes shared by the entity, public and WebSocket routes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import schemas
from app.core.models import CommitAnalysis, Entity, HealthHistory, Repository
from app.core.times import iso
from app.entities import rules
from app.entities.shapes import entity_model

TREND_THRESHOLD = 5
GRANULARITIES = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


async def current_pets(
    session: AsyncSession, repositories: Iterable[Repository]
) -> list[tuple[Entity, Repository]]:
    """The current generation of each repository's pet, where it has one."""
    by_id = {r.id: r for r in repositories}
    if not by_id:
        return []
    rows = await session.scalars(
        select(Entity).where(Entity.repository_id.in_(list(by_id)), Entity.is_current.is_(True))
    )
    return [(e, by_id[e.repository_id]) for e in rows]


def pet_model(entity: Entity, repository: Repository, base_url: str) -> schemas.Entity:
    """The contract's entity object, with the repository's id so clients can filter by it."""
    model = entity_model(entity, repository, base_url)
    model.repository.id = repository.id
    return model


def entity_json(entity: Entity, repository: Repository, base_url: str) -> dict[str, Any]:
    """`pet_model` as JSON."""
    return pet_model(entity, repository, base_url).json_dict()


def activity(entity: Entity) -> datetime:
    """When a pet last did something: a commit, or any change of its row."""
    times = [t for t in (entity.last_commit_at, entity.updated_at, entity.born_at) if t]
    return max(times)


def pet_models(pets: Sequence[tuple[Entity, Repository]], base_url: str) -> list[schemas.Entity]:
    """Entity objects, most recently active first."""
    ordered = sorted(pets, key=lambda p: activity(p[0]), reverse=True)
    return [pet_model(e, r, base_url) for e, r in ordered]


def pets_json(pets: Sequence[tuple[Entity, Repository]], base_url: str) -> list[dict[str, Any]]:
    """`pet_models` as JSON."""
    return [pet.json_dict() for pet in pet_models(pets, base_url)]


@dataclass(frozen=True, slots=True)
class Point:
    """One history row with the commit behind it, if any.

    `delta` is what the row stored: health after minus health before, so the change that was
    applied (after the thriving band, the 0/100 clamp, or nothing on a dead pet). `scored` is
    the commit's own delta, which differs from it exactly in those cases.
    """

    at: datetime
    health: int
    delta: int
    reason: str
    sha: str | None
    scored: int | None = None
    committed_at: datetime | None = None
    generation: int | None = None

    @property
    def before(self) -> int:
        """Health just before this change: the previous row's health when rows are complete."""
        return self.health - self.delta


POINT_COLUMNS = (
    HealthHistory,
    CommitAnalysis.sha,
    CommitAnalysis.health_delta,
    CommitAnalysis.committed_at,
    Entity.generation,
)


def point_of(row: Any) -> Point:
    """A `Point` from one row of `POINT_COLUMNS`."""
    h, sha, scored, committed_at, generation = row
    return Point(
        h.recorded_at, h.health_score, h.delta, h.reason, sha, scored, committed_at, generation
    )


async def history(session: AsyncSession, entity_id: int, since: datetime) -> list[Point]:
    """History rows of one pet since a time, oldest first."""
    rows = await session.execute(
        select(*POINT_COLUMNS)
        .join(Entity, Entity.id == HealthHistory.entity_id)
        .outerjoin(CommitAnalysis, HealthHistory.analysis_id == CommitAnalysis.id)
        .where(HealthHistory.entity_id == entity_id, HealthHistory.recorded_at >= since)
        .order_by(HealthHistory.recorded_at, HealthHistory.id)
    )
    return [point_of(row) for row in rows.all()]


def bucket_start(at: datetime, granularity: str) -> datetime:
    """The start of the hour or day an instant falls in (UTC)."""
    if granularity == "hourly":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _new_bucket(start: datetime, point: Point) -> dict[str, Any]:
    """A bucket holding its first point; `health_before` is fixed by that first point."""
    return {
        "_start": start,
        "timestamp": iso(start),
        "health_score": point.health,
        "health_before": point.before,
        "change_reason": point.reason,
        "reasons": [point.reason],
        "commit_sha": point.sha,
        "delta": point.delta,
        "applied": point.delta,
        "scored_delta": point.scored if point.reason == rules.REASON_COMMIT else None,
    }


def _add_to_bucket(entry: dict[str, Any], point: Point) -> None:
    """Fold one more point into its bucket: last health and reason, summed changes."""
    entry["health_score"] = point.health
    entry["delta"] += point.delta
    entry["applied"] += point.delta
    entry["change_reason"] = point.reason
    entry["commit_sha"] = point.sha or entry["commit_sha"]
    if point.reason not in entry["reasons"]:
        entry["reasons"].append(point.reason)
    if point.reason == rules.REASON_COMMIT:
        entry["scored_delta"] = (entry["scored_delta"] or 0) + (point.scored or 0)


def history_points(points: Sequence[Point], granularity: str) -> list[schemas.HistoryPoint]:
    """One entry per hour or day: last health and reason, summed delta, latest commit.

    `applied` (equal to `delta`: the health change really made) is named apart from
    `scored_delta` (what the bucket's commits scored) because the two differ at the top of
    the thriving band, at the 0/100 clamp and on a dead pet; `reasons` keeps a death or a
    decay day visible when a commit came later the same day.
    """
    out: list[dict[str, Any]] = []
    for point in points:
        start = bucket_start(point.at, granularity)
        if out and out[-1]["_start"] == start:
            _add_to_bucket(out[-1], point)
        else:
            out.append(_new_bucket(start, point))
    for entry in out:
        del entry["_start"]
    return [schemas.HistoryPoint(**entry) for entry in out]


def bucketed(points: Sequence[Point], granularity: str) -> list[dict[str, Any]]:
    """`history_points` as JSON."""
    return [point.json_dict() for point in history_points(points, granularity)]


def trend(points: Sequence[Point], current: int) -> str:
    """improving, declining or stable: health now against health when the window opened."""
    if not points:
        return "stable"
    start = points[0].health - points[0].delta
    change = current - start
    if change >= TREND_THRESHOLD:
        return "improving"
    if change <= -TREND_THRESHOLD:
        return "declining"
    return "stable"


def days_tracked(entity: Entity, since: datetime, now: datetime) -> int:
    """Whole days (rounded up) of the window the pet was alive for."""
    start = max(entity.born_at, since)
    return max(1, -(-int((now - start).total_seconds()) // 86400))


def summary(
    entity: Entity, points: Sequence[Point], since: datetime, now: datetime
) -> dict[str, Any]:
    """The `summary` of the history response."""
    return {
        "current_health": entity.health,
        "trend": trend(points, entity.health),
        "days_tracked": days_tracked(entity, since, now),
    }


def health_trend(points: Sequence[Point]) -> list[dict[str, Any]]:
    """`[{date, score}]`: the last score of each day."""
    return [
        {"date": p.timestamp[:10], "score": p.health_score} for p in history_points(points, "daily")
    ]


def _reason_text(reasons: Sequence[schemas.Reason]) -> str:
    """The two weightiest reasons as one line ("tests added, complexity down")."""
    top = sorted(reasons, key=lambda r: abs(r.points), reverse=True)[:2]
    texts = [r.detail or r.code for r in top]
    return ", ".join(t for t in texts if t) or "no notable change"


def _reason(item: Any) -> schemas.Reason:
    """One reason in the contract's `{code, points, detail}` shape."""
    item = item if isinstance(item, dict) else {"detail": str(item)}
    return schemas.Reason(
        code=str(item.get("code") or "other"),
        points=item.get("points") or 0,
        detail=str(item.get("detail") or ""),
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one analysed commit did to its pet, read from its history row."""

    applied: int
    health_after: int | None
    dead: bool = False


async def _deaths(session: AsyncSession, pet_ids: set[int]) -> dict[int, datetime | None]:
    """When each of these pets died (None while alive)."""
    if not pet_ids:
        return {}
    rows = await session.execute(select(Entity.id, Entity.died_at).where(Entity.id.in_(pet_ids)))
    return dict(rows.tuples().all())


async def outcomes(session: AsyncSession, rows: Sequence[CommitAnalysis]) -> dict[int, Outcome]:
    """Each analysis' applied change, by analysis id.

    A commit that changed nothing has no history row; when its pet had died by then that is
    why (dead pets take no change), otherwise it moved health by 0.
    """
    ids = [row.id for row in rows]
    if not ids:
        return {}
    changed = await session.execute(
        select(HealthHistory.analysis_id, HealthHistory.delta, HealthHistory.health_score).where(
            HealthHistory.analysis_id.in_(ids)
        )
    )
    found = {aid: Outcome(delta, health) for aid, delta, health in changed.all()}
    deaths = await _deaths(session, {row.entity_id for row in rows if row.entity_id})
    out: dict[int, Outcome] = {}
    for row in rows:
        died = deaths.get(row.entity_id) if row.entity_id is not None else None
        dead = died is not None and died <= row.processed_at
        out[row.id] = found.get(row.id) or Outcome(0, rules.MIN_HEALTH if dead else None, dead)
    return out


def applied_note(scored: int, outcome: Outcome) -> str | None:
    """Why the applied change differs from the scored one; None when they agree.

    `max`/`min`: the 0/100 clamp; `thriving`: gains shrink inside the thriving band
    (`rules.applied_gain`); `dead`: a dead pet takes no change.
    """
    if outcome.dead:
        return "dead"
    if outcome.applied == scored:
        return None
    if outcome.health_after == rules.MAX_HEALTH and outcome.applied < scored:
        return "max"
    if outcome.health_after == rules.MIN_HEALTH and outcome.applied > scored:
        return "min"
    if 0 < outcome.applied < scored:
        return "thriving"
    return "other"


def impact_outcome(row: CommitAnalysis, outcome: Outcome | None) -> dict[str, Any]:
    """The `health_impact` fields that say what was applied (empty when unknown)."""
    if outcome is None:
        return {}
    return {
        "applied": outcome.applied,
        "health_after": outcome.health_after,
        "applied_note": applied_note(row.health_delta, outcome),
    }


def analysis_model(
    row: CommitAnalysis, repository: Repository, outcome: Outcome | None = None
) -> schemas.Analysis:
    """The contract's analysis object; with `outcome`, also the change really applied."""
    reasons = [_reason(r) for r in (row.reasons or [])]
    return schemas.Analysis(
        id=row.id,
        repository=schemas.AnalysisRepository(id=repository.id, full_name=repository.full_name),
        commit=schemas.AnalysisCommit(
            sha=row.sha,
            message=row.message,
            author=row.author_name,
            committed_at=iso(row.committed_at),
        ),
        quality_metrics=schemas.QualityMetrics(
            overall_score=row.quality_score,
            complexity_score=row.complexity_score,
            test_coverage_delta=row.test_coverage_delta,
            documentation_score=row.documentation_score,
            linting_violations=row.linting_violations,
            security_issues=row.security_issues,
        ),
        health_impact=schemas.HealthImpact(
            delta=row.health_delta,
            reason=_reason_text(reasons),
            reasons=reasons,
            **impact_outcome(row, outcome),
        ),
        processed_at=iso(row.processed_at),
    )


def analysis_json(
    row: CommitAnalysis, repository: Repository, outcome: Outcome | None = None
) -> dict[str, Any]:
    """`analysis_model` as JSON."""
    return analysis_model(row, repository, outcome).json_dict()


async def recent_analyses(
    session: AsyncSession, repositories: Iterable[Repository], limit: int
) -> list[dict[str, Any]]:
    """The newest analyses across some repositories."""
    by_id = {r.id: r for r in repositories}
    if not by_id:
        return []
    rows = await session.scalars(
        select(CommitAnalysis)
        .where(CommitAnalysis.repository_id.in_(list(by_id)))
        .order_by(CommitAnalysis.processed_at.desc(), CommitAnalysis.id.desc())
        .limit(limit)
    )
    listed = list(rows)
    found = await outcomes(session, listed)
    return [analysis_json(row, by_id[row.repository_id], found.get(row.id)) for row in listed]
