"""The pet as the API and the WebSocket send it: the entity object and the change events.

The shapes themselves are the pydantic models in `app.core.schemas`; these builders fill them
from a row. The `*_event` and `*_to_dict` forms are the JSON the bus carries and the site embeds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from app.core import schemas
from app.core.models import Entity, Repository
from app.core.times import iso
from app.entities import rules
from app.entities.pet_rows import pet_state
from app.entities.pictures import image_url
from app.entities.rules import PetState
from app.entities.species import emoji_for

HUNGRY: Final = "hungry"


def entity_model(entity: Entity, repository: Repository, base_url: str = "") -> schemas.Entity:
    """CONTRACTS.md's entity object, plus emoji, cooldown and frozen for the clients."""
    expires = rules.cooldown_expires(pet_state(entity))
    return schemas.Entity(
        id=entity.id,
        name=entity.name,
        type=entity.species,
        species=entity.subspecies or entity.species,
        emoji=emoji_for(entity.species, entity.subspecies),
        health_score=entity.health,
        state=rules.health_state(entity.health),
        status=entity.status,
        generation=entity.generation,
        visual_url=image_url(entity, base_url=base_url),
        repository=schemas.EntityRepository(
            full_name=repository.full_name, language=repository.language
        ),
        repository_id=entity.repository_id,
        last_updated=iso(entity.updated_at),
        created_at=iso(entity.born_at),
        died_at=iso(entity.died_at),
        cooldown_expires=iso(expires),
        frozen=entity.frozen,
        sleeping=entity.sleeping_since is not None,
        sleeping_since=iso(entity.sleeping_since),
        sleep_until=iso(entity.sleep_until),
        decay=schemas.Decay(grace_days=entity.grace_days, per_day=entity.decay_per_day),
    )


def entity_to_dict(entity: Entity, repository: Repository, base_url: str = "") -> dict[str, Any]:
    """`entity_model` as JSON."""
    return entity_model(entity, repository, base_url).json_dict()


def status_message(name: str, new_status: str) -> str:
    """The sentence shown with a status change."""
    if new_status == rules.DEAD:
        return f"{name} has died. A new pet can hatch after the cooldown."
    if new_status == rules.DYING:
        return f"{name} is in critical condition!"
    return f"{name} is recovering!"


def status_change(
    entity: Entity, old_status: str, at: datetime, base_url: str = ""
) -> schemas.StatusChange:
    """CONTRACTS.md `status_change`, with the ids the web tier filters on."""
    return schemas.StatusChange(
        entity_id=entity.id,
        repository_id=entity.repository_id,
        old_status=old_status,
        new_status=entity.status,
        health_score=entity.health,
        message=status_message(entity.name, entity.status),
        visual_url=image_url(entity, base_url=base_url),
        timestamp=at.isoformat(),
    )


def status_change_event(
    entity: Entity, old_status: str, at: datetime, base_url: str = ""
) -> dict[str, Any]:
    """`status_change` as the bus carries it (JSON)."""
    return status_change(entity, old_status, at, base_url).json_dict()


def hungry_message(name: str) -> str:
    """The warning sent when decay starts (`decay_rules.starts_hunger`)."""
    return f"{name} is hungry"


def hungry(entity: Entity, at: datetime, base_url: str = "") -> schemas.StatusChange:
    """A `status_change` whose status stays put: "Mochi is hungry", `reason` "hungry".

    Hunger is not one of the contract's statuses, so the event keeps old and new status
    equal and names the reason; clients that only show `message` still say the right thing.
    """
    event = status_change(entity, entity.status, at, base_url)
    return event.model_copy(update={"message": hungry_message(entity.name), "reason": HUNGRY})


def hungry_event(entity: Entity, at: datetime, base_url: str = "") -> dict[str, Any]:
    """`hungry` as the bus carries it (JSON)."""
    return hungry(entity, at, base_url).json_dict()


def health_update(
    entity: Entity, change_reason: str, at: datetime, base_url: str = ""
) -> schemas.HealthUpdate:
    """CONTRACTS.md `health_update`, with the ids the web tier filters on."""
    return schemas.HealthUpdate(
        entity_id=entity.id,
        repository_id=entity.repository_id,
        health_score=entity.health,
        state=rules.health_state(entity.health),
        status=entity.status,
        visual_url=image_url(entity, base_url=base_url),
        sleeping=entity.sleeping_since is not None,
        change_reason=change_reason,
        timestamp=at.isoformat(),
    )


def health_update_event(
    entity: Entity, change_reason: str, at: datetime, base_url: str = ""
) -> dict[str, Any]:
    """`health_update` as the bus carries it (JSON)."""
    return health_update(entity, change_reason, at, base_url).json_dict()


def events_for(
    entity: Entity, before: PetState, after: PetState, reason: str, at: datetime, base_url: str
) -> list[dict[str, Any]]:
    """A health_update when health or picture changed, a status_change when status did."""
    events: list[dict[str, Any]] = []
    if before.health != after.health or rules.visual_state(before) != rules.visual_state(after):
        events.append(health_update_event(entity, reason, at, base_url))
    if before.status != after.status:
        events.append(status_change_event(entity, before.status, at, base_url))
    return events


__all__ = [
    "entity_model",
    "entity_to_dict",
    "events_for",
    "health_update",
    "health_update_event",
    "hungry",
    "hungry_event",
    "hungry_message",
    "status_change",
    "status_change_event",
    "status_message",
]
