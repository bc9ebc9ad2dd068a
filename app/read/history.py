"""A pet's history as rows that add up: each change with what was applied, and why.

`pets.bucketed` sums a day into one entry, which hides a death or the first day of decay behind
a later commit. These rows are the history table's own: one per stored change, so row N's
`health_score` is row N−1's plus row N's `applied`, and decay days, deaths and revivals stand
as rows of their own. The pet page follows the repository across generations (a death, then
the revival that starts the next pet); the entity API follows one pet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import CommitAnalysis, Entity, HealthHistory
from app.core.times import iso
from app.entities import rules
from app.read.pets import POINT_COLUMNS, Point, point_of

# Enough for a month of a busy repository; the oldest rows beyond it are left out.
MAX_CHANGES: Final = 500


async def changes(
    session: AsyncSession, owner: ColumnElement[bool], since: datetime, limit: int = MAX_CHANGES
) -> tuple[list[Point], str | None]:
    """The newest `limit` changes matching `owner` since a time, oldest first, and the reason
    of the change just before them (to tell where a run of decay days starts).

    Ordered by row id, the order the changes were applied in: a death is stamped with the
    moment it fell due, which can be earlier than the decay row written in the same cron run.
    """
    rows = await session.execute(
        select(*POINT_COLUMNS, HealthHistory.id)
        .join(Entity, Entity.id == HealthHistory.entity_id)
        .outerjoin(CommitAnalysis, HealthHistory.analysis_id == CommitAnalysis.id)
        .where(owner, HealthHistory.recorded_at >= since)
        .order_by(HealthHistory.id.desc())
        .limit(limit)
    )
    found = list(reversed(rows.all()))
    if not found:
        return [], None
    previous = await session.scalar(
        select(HealthHistory.reason)
        .join(Entity, Entity.id == HealthHistory.entity_id)
        .where(owner, HealthHistory.id < found[0][-1])
        .order_by(HealthHistory.id.desc())
        .limit(1)
    )
    return [point_of(row[:-1]) for row in found], previous


async def repository_changes(
    session: AsyncSession, repository_id: int, since: datetime
) -> list[dict[str, Any]]:
    """Rows of every generation of a repository's pet: the pet page's history."""
    points, previous = await changes(session, Entity.repository_id == repository_id, since)
    return changes_json(points, previous)


async def entity_changes(
    session: AsyncSession, entity_id: int, since: datetime
) -> list[dict[str, Any]]:
    """Rows of one pet: the entity API's history."""
    points, previous = await changes(session, HealthHistory.entity_id == entity_id, since)
    return changes_json(points, previous)


def change_json(point: Point, decay_start: bool) -> dict[str, Any]:
    """One history row: health before and after, the change applied and, for a commit, what
    it scored and when it was made (the row's own time is when it was analysed and applied).
    """
    doc: dict[str, Any] = {
        "timestamp": iso(point.at),
        "health_score": point.health,
        "health_before": point.before,
        "applied": point.delta,
        "delta": point.delta,
        "change_reason": point.reason,
        "commit_sha": point.sha,
        "generation": point.generation,
        "decay_start": decay_start,
    }
    if point.reason == rules.REASON_COMMIT:
        doc["scored_delta"] = point.scored
        doc["committed_at"] = iso(point.committed_at)
    return doc


def changes_json(points: Sequence[Point], previous: str | None = None) -> list[dict[str, Any]]:
    """Rows oldest first; the first decay row after anything else is where decay started."""
    out: list[dict[str, Any]] = []
    last = previous
    for point in points:
        start = point.reason == rules.REASON_DECAY and last != rules.REASON_DECAY
        out.append(change_json(point, start))
        last = point.reason
    return out


__all__ = [
    "MAX_CHANGES",
    "change_json",
    "changes",
    "changes_json",
    "entity_changes",
    "repository_changes",
]
