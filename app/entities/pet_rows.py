"""Between an `Entity` row and the rules' `PetState`, and the health-history rows a change writes.

The rules (`rules.py`, `decay_rules.py`) know nothing of the database; these mappings are the
one place a row becomes a `PetState` and a rule's result goes back onto the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.core.models import Entity, HealthHistory
from app.entities import rules
from app.entities.rules import PetState


def pet_state(entity: Entity) -> PetState:
    """The rules' view of a row."""
    return PetState(
        health=entity.health,
        status=entity.status,
        generation=entity.generation,
        born_at=entity.born_at,
        last_commit_at=entity.last_commit_at,
        last_decay_at=entity.last_decay_at,
        zero_since=entity.zero_since,
        died_at=entity.died_at,
        frozen=entity.frozen,
        grace_days=rules.GRACE_DAYS if entity.grace_days is None else entity.grace_days,
        decay_per_day=rules.DECAY_PER_DAY if entity.decay_per_day is None else entity.decay_per_day,
        sleeping_since=entity.sleeping_since,
        sleep_until=entity.sleep_until,
    )


def write_state(entity: Entity, pet: PetState, now: datetime) -> None:
    """Copy a rule's result onto the row (only the columns the rules own)."""
    entity.health = pet.health
    entity.status = pet.status
    entity.last_commit_at = pet.last_commit_at
    entity.last_decay_at = pet.last_decay_at
    entity.zero_since = pet.zero_since
    entity.died_at = pet.died_at
    entity.frozen = pet.frozen
    entity.grace_days = pet.grace_days
    entity.decay_per_day = pet.decay_per_day
    entity.sleeping_since = pet.sleeping_since
    entity.sleep_until = pet.sleep_until
    entity.updated_at = now


def decay_params(config: Mapping[str, Any] | None) -> tuple[int, int]:
    """(grace_days, decay_per_day) from a stored `RepoConfig.as_dict()`; the seed's otherwise.

    An invalid file stores the defaults, so whatever is stored is what applies.
    """
    config = config or {}
    grace, per_day = config.get("grace_days"), config.get("decay_per_day")
    return (
        rules.GRACE_DAYS if grace is None else int(grace),
        rules.DECAY_PER_DAY if per_day is None else int(per_day),
    )


def history_row(
    entity_id: int, before: int, after: int, reason: str, at: datetime, analysis_id: int | None
) -> HealthHistory:
    """One health-history row; `delta` is what actually changed after clamping."""
    return HealthHistory(
        entity_id=entity_id,
        health_score=after,
        delta=after - before,
        reason=reason,
        analysis_id=analysis_id,
        recorded_at=at,
    )


__all__ = ["decay_params", "history_row", "pet_state", "write_state"]
