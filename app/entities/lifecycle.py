"""The pet's life in the database: birth, commits, settling, revival, freezing and hibernation.

The rules themselves are pure (`rules.py`, `decay_rules.py`); each function here locks the row,
maps it to a `PetState` (`pet_rows.py`), applies a rule, writes the result and its health-history
rows, and returns the events to publish once the caller commits (`shapes.py`). Callers own the
transaction: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Entity, Repository
from app.entities import decay_rules, rules
from app.entities.pet_rows import decay_params, history_row, pet_state, write_state
from app.entities.pictures import META_SEED, ensure_picture, store_sprites
from app.entities.rules import PetState
from app.entities.shapes import events_for, hungry_event
from app.entities.species import (
    SPECIES,
    generation_name,
    pet_name,
    species_for,
    strip_generation,
    subspecies_for,
)

REASON_ASLEEP: Final = "hibernating"
REASON_AWAKE: Final = "woke up"


class EntityNotFound(Exception):
    """No pet with that id."""


@dataclass(frozen=True, slots=True)
class PetUpdate:
    """What a change did: states before and after, and the events to publish after commit."""

    entity: Entity
    before: PetState
    after: PetState
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def visual_changed(self) -> bool:
        """The picture to show changed (new health state, or death)."""
        return rules.visual_state(self.before) != rules.visual_state(self.after)


async def current_pet(session: AsyncSession, repository_id: int) -> Entity | None:
    """The repository's current generation, if it has one."""
    return await session.scalar(
        select(Entity).where(Entity.repository_id == repository_id, Entity.is_current.is_(True))
    )


async def lock_pet(session: AsyncSession, entity_id: int) -> Entity:
    """Load a pet with a row lock (PostgreSQL), so the cron and commits never lose an update."""
    entity = await session.scalar(
        select(Entity)
        .where(Entity.id == entity_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if entity is None:
        raise EntityNotFound(entity_id)
    return entity


async def _next_generation(session: AsyncSession, repository_id: int) -> int:
    """One more than any generation the repository ever had."""
    top = await session.scalar(
        select(func.max(Entity.generation)).where(Entity.repository_id == repository_id)
    )
    return (top or 0) + 1


def _species(repository: Repository, override: str | None) -> tuple[str, str | None]:
    """The language's species, unless `override` (the API's `entity_preferences.type`) names
    another known one; the sub-species is stable for the repository either way."""
    kind, sub = species_for(repository.language, repository.github_id)
    if override in SPECIES and override != kind:
        kind, sub = override, subspecies_for(override, repository.github_id)
    return kind, sub


def _newborn(
    repository: Repository, pet: PetState, name: str, kind: tuple[str, str | None], now: datetime
) -> Entity:
    """A current row for the generation `pet` starts ("Mochi II"), frozen if the repository is
    archived; its sprites are seeded by the repository's GitHub id, recorded here."""
    species, subspecies = kind
    entity = Entity(
        repository_id=repository.id,
        generation=pet.generation,
        name=generation_name(name, pet.generation),
        species=species,
        subspecies=subspecies,
        is_current=True,
        born_at=now,
        metadata_json={META_SEED: repository.github_id},
    )
    write_state(entity, rules.set_frozen(pet, repository.archived, now), now)
    return entity


async def create_pet(
    session: AsyncSession,
    repository: Repository,
    now: datetime,
    *,
    name: str | None = None,
    species: str | None = None,
) -> Entity:
    """The repository's pet: its current one if it has one, else a newborn with sprites.

    Species comes from the language (or `species`, an override such as the API's
    `entity_preferences.type`), the name is stable for the repository unless given. Two
    concurrent calls cannot both insert: (repository, generation) is unique, and the loser
    gets the winner's pet.
    """
    existing = await current_pet(session, repository.id)
    if existing is not None:
        return existing
    generation = await _next_generation(session, repository.id)
    pet = rules.new_pet(now, generation, *decay_params(repository.config))
    base = strip_generation(name) if name else pet_name(repository.github_id)
    entity = _newborn(repository, pet, base, _species(repository, species), now)
    try:
        async with session.begin_nested():
            session.add(entity)
            await session.flush()
    except IntegrityError:
        winner = await current_pet(session, repository.id)
        if winner is None:
            raise
        return winner
    await store_sprites(session, entity)
    await session.flush()
    return entity


async def _repository(session: AsyncSession, repository_id: int) -> Repository:
    """The pet's repository (always exists: entities cascade with it)."""
    repository = await session.get(Repository, repository_id)
    assert repository is not None
    return repository


async def settle_pet(
    session: AsyncSession, entity: Entity, now: datetime, base_url: str = ""
) -> PetUpdate:
    """Wake a sleeper whose time came, charge decay owed and a due death now (as the cron
    would), with history rows; the first decay after the grace period adds a hungry event."""
    before = pet_state(entity)
    awake = rules.wake_due(before, now)
    decayed = decay_rules.apply_decay(awake, now)
    after = decay_rules.apply_death(decayed, now)
    if decayed.health != before.health:
        session.add(
            history_row(entity.id, before.health, decayed.health, rules.REASON_DECAY, now, None)
        )
    if after.dead and not decayed.dead:
        assert after.died_at is not None
        session.add(history_row(entity.id, 0, 0, rules.REASON_DEATH, after.died_at, None))
    if after != before:
        write_state(entity, after, now)
    events = events_for(entity, before, after, "", now, base_url)
    if decay_rules.starts_hunger(awake, now):
        events.insert(0, hungry_event(entity, now, base_url))
    return PetUpdate(entity, before, after, events)


async def record_commit(
    session: AsyncSession,
    entity_id: int,
    delta: int,
    at: datetime,
    analysis_id: int | None = None,
    *,
    change_reason: str = rules.REASON_COMMIT,
    base_url: str = "",
    config: Mapping[str, Any] | None = None,
) -> PetUpdate:
    """Apply one analysed commit to a pet: lock, settle, apply, write history, build events.

    A dead pet (including one whose death fell due before this commit) takes no change and
    gets no commit_analysis history row; the analysis itself is still the caller's to record.
    `change_reason` is the human text for the `health_update` event ("tests added").
    The commit wakes a hibernating pet (`rules.apply_commit`), and the repository's `decay:`
    setting (`config`, default: the one stored at the last push) applies from here on;
    decay owed before the commit is charged at the old rate.
    """
    entity = await lock_pet(session, entity_id)
    settled = await settle_pet(session, entity, at, base_url)
    before = settled.before
    if config is None:
        config = (await _repository(session, entity.repository_id)).config
    priced = rules.with_decay(settled.after, *decay_params(config))
    after = rules.apply_commit(priced, delta, at)
    if after != priced:
        session.add(
            history_row(
                entity.id, settled.after.health, after.health, rules.REASON_COMMIT, at, analysis_id
            )
        )
    if after != settled.after:
        write_state(entity, after, at)
    events = events_for(entity, before, after, change_reason, at, base_url)
    return PetUpdate(entity, before, after, events)


async def revive_pet(
    session: AsyncSession,
    entity_id: int,
    now: datetime,
    *,
    allow_living: bool = False,
) -> Entity:
    """The next generation ("Mochi II") at full health; the old one stops being current.

    Raises `rules.CooldownActive(expires_at)` within 48 h of death, and `rules.PetAlive` for a
    living pet unless `allow_living` (a deliberate manual reset, history reason manual_reset).
    A pet that is no longer current was already replaced: the current one is returned.
    """
    old = await lock_pet(session, entity_id)
    if not old.is_current:
        current = await current_pet(session, old.repository_id)
        if current is not None:
            return current
    await settle_pet(session, old, now)
    state = pet_state(old)
    if not state.dead and not allow_living:
        raise rules.PetAlive(f"{old.name} is alive")
    repository = await _repository(session, old.repository_id)
    born = rules.with_decay(rules.reset(state, now), *decay_params(repository.config))
    reason = rules.REASON_REVIVAL if state.dead else rules.REASON_MANUAL_RESET
    old.is_current = False
    old.updated_at = now
    await session.flush()
    entity = _newborn(repository, born, old.name, (old.species, old.subspecies), now)
    session.add(entity)
    await session.flush()
    session.add(history_row(entity.id, old.health, entity.health, reason, now, None))
    await store_sprites(session, entity)
    await session.flush()
    return entity


async def set_frozen(
    session: AsyncSession, repository_id: int, frozen: bool, now: datetime
) -> Entity | None:
    """Archive/suspend (no decay, no death clock) or thaw a repository's current pet."""
    entity = await current_pet(session, repository_id)
    if entity is None:
        return None
    entity = await lock_pet(session, entity.id)
    after = rules.set_frozen(pet_state(entity), frozen, now)
    write_state(entity, after, now)
    return entity


async def hibernate_pet(
    session: AsyncSession,
    entity_id: int,
    now: datetime,
    until: datetime | None = None,
    base_url: str = "",
) -> PetUpdate:
    """Put a pet to sleep until its next commit or `until`: decay owed so far is charged
    first, then nothing is until it wakes. Raises `rules.PetDead` and `rules.BadSleep`."""
    entity = await lock_pet(session, entity_id)
    settled = await settle_pet(session, entity, now, base_url)
    after = rules.hibernate(settled.after, now, until)
    write_state(entity, after, now)
    await ensure_picture(session, entity, rules.SLEEPING_VISUAL)
    events = events_for(entity, settled.before, after, REASON_ASLEEP, now, base_url)
    return PetUpdate(entity, settled.before, after, events)


async def wake_pet(
    session: AsyncSession, entity_id: int, now: datetime, base_url: str = ""
) -> PetUpdate:
    """Wake a pet by hand; the time it slept is not charged (a pet awake is left as it is)."""
    entity = await lock_pet(session, entity_id)
    settled = await settle_pet(session, entity, now, base_url)
    after = rules.wake(settled.after, now)
    if after != settled.after:
        write_state(entity, after, now)
    events = events_for(entity, settled.before, after, REASON_AWAKE, now, base_url)
    return PetUpdate(entity, settled.before, after, events)


async def pet_and_repository(session: AsyncSession, entity_id: int) -> tuple[Entity, Repository]:
    """A pet with its repository, for `entity_to_dict`."""
    entity = await session.get(Entity, entity_id)
    if entity is None:
        raise EntityNotFound(entity_id)
    return entity, await _repository(session, entity.repository_id)


__all__ = [
    "REASON_ASLEEP",
    "REASON_AWAKE",
    "EntityNotFound",
    "PetUpdate",
    "create_pet",
    "current_pet",
    "hibernate_pet",
    "lock_pet",
    "pet_and_repository",
    "record_commit",
    "revive_pet",
    "set_frozen",
    "settle_pet",
    "wake_pet",
]
