"""The pet in the database: birth, commits, revival, pictures and the API's entity object.

The rules themselves live in `rules.py`; this module maps an `Entity` row to a `PetState`,
applies a rule, writes the result and its health-history rows, and builds the shapes the API
and the WebSocket send. Callers own the transaction: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import schemas
from app.core.models import Entity, EntityImage, HealthHistory, Repository
from app.entities import rules
from app.entities.images import Outcome, Picture
from app.entities.rules import PetState
from app.entities.species import (
    SPECIES,
    emoji_for,
    generation_name,
    pet_name,
    species_for,
    strip_generation,
    subspecies_for,
)
from app.entities.sprites import MIME as SVG_MIME
from app.entities.sprites import sprite_svg

SOURCE_SPRITE: Final = "sprite"
SOURCE_GEMINI: Final = "gemini"
EXTENSIONS: Final[dict[str, str]] = {
    SVG_MIME: "svg",
    "image/png": "png",
    "image/webp": "webp",
    "image/jpeg": "jpg",
}
IMAGE_PATH: Final = "/images"
# metadata_json keys: the current picture per visual state, and how Gemini fared per state.
META_IMAGES: Final = "images"
META_IMAGE_STATUS: Final = "image_status"
META_SEED: Final = "seed"
HUNGRY: Final = "hungry"
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


# --- pictures ---------------------------------------------------------------------------------


def image_ext(mime_type: str) -> str:
    """File extension for the versioned URL."""
    return EXTENSIONS.get(mime_type, "bin")


def visual_state(entity: Entity) -> str:
    """thriving … dying, dead, or sleeping (as `rules.visual_state`)."""
    if entity.status == rules.DEAD:
        return rules.DEAD_VISUAL
    if entity.sleeping_since is not None:
        return rules.SLEEPING_VISUAL
    return rules.health_state(entity.health)


def _image_map(entity: Entity) -> dict[str, dict[str, str]]:
    """The per-state picture index kept in metadata_json (a copy, safe to modify)."""
    meta = entity.metadata_json or {}
    return {k: dict(v) for k, v in (meta.get(META_IMAGES) or {}).items()}


def image_url(entity: Entity, state: str | None = None, base_url: str = "") -> str:
    """Versioned URL `/images/{hash}.{ext}` of the pet's picture for a state (default: now).

    The URL changes whenever the picture does, so it can be cached for 30 days as immutable.
    A row without a stored picture still gets the URL its sprite would have (see `sprite_for`).
    """
    state = state or visual_state(entity)
    entry = _image_map(entity).get(state)
    if entry is None:
        picture = sprite_for(entity, state)
        entry = {"hash": picture.content_hash, "mime": picture.mime_type}
    return f"{base_url}{IMAGE_PATH}/{entry['hash']}.{image_ext(entry['mime'])}"


def sprite_seed(entity: Entity) -> int:
    """The repository's GitHub id, recorded at birth (falls back to the row's repository id)."""
    seed = (entity.metadata_json or {}).get(META_SEED)
    return int(seed) if seed is not None else entity.repository_id


def sprite_for(entity: Entity, state: str) -> Picture:
    """The procedural picture for one state, drawn from the repository's seed."""
    status = rules.DEAD if state == rules.DEAD_VISUAL else rules.ALIVE
    svg = sprite_svg(entity.species, entity.subspecies, state, sprite_seed(entity), status)
    return Picture(SVG_MIME, svg.encode())


def image_status(entity: Entity, state: str) -> str | None:
    """How Gemini fared for a state: generated, blocked, failed, or None if never asked."""
    status = (entity.metadata_json or {}).get(META_IMAGE_STATUS, {}).get(state)
    return None if status is None else str(status)


def needs_image(entity: Entity, state: str) -> bool:
    """Worth asking Gemini for this state: not generated yet and not refused before.

    Variants are drawn from the thriving picture, so once thriving was refused none are.
    """
    if state not in (*rules.HEALTH_STATES, rules.SLEEPING_VISUAL):
        return False
    if image_status(entity, rules.THRIVING) == Outcome.BLOCKED:
        return False
    return image_status(entity, state) not in (Outcome.GENERATED, Outcome.BLOCKED)


async def store_picture(
    session: AsyncSession, entity: Entity, state: str, picture: Picture, source: str
) -> EntityImage:
    """Insert or replace the picture for (entity, state) and point metadata at it."""
    row = await session.scalar(
        select(EntityImage).where(EntityImage.entity_id == entity.id, EntityImage.state == state)
    )
    if row is None:
        row = EntityImage(entity_id=entity.id, state=state)
        session.add(row)
    row.mime_type = picture.mime_type
    row.data = picture.data
    row.content_hash = picture.content_hash
    row.source = source
    images = _image_map(entity)
    images[state] = {"hash": picture.content_hash, "mime": picture.mime_type, "source": source}
    entity.metadata_json = {**(entity.metadata_json or {}), META_IMAGES: images}
    return row


def mark_image_status(entity: Entity, state: str, outcome: str) -> None:
    """Remember how Gemini fared for a state, so refusals are not asked again."""
    meta = dict(entity.metadata_json or {})
    statuses = dict(meta.get(META_IMAGE_STATUS) or {})
    statuses[state] = str(outcome)
    meta[META_IMAGE_STATUS] = statuses
    entity.metadata_json = meta


async def store_sprites(session: AsyncSession, entity: Entity) -> None:
    """Sprites for every state and death, so the pet has pictures from its first second."""
    for state in rules.VISUAL_STATES:
        await store_picture(session, entity, state, sprite_for(entity, state), SOURCE_SPRITE)


async def ensure_picture(session: AsyncSession, entity: Entity, state: str) -> None:
    """A stored picture for `state`: pets born before the sleeping state existed lack one,
    and `/images/{hash}` only serves stored rows."""
    if await load_picture(session, entity.id, state) is None:
        await store_picture(session, entity, state, sprite_for(entity, state), SOURCE_SPRITE)


async def load_image(session: AsyncSession, content_hash: str) -> tuple[str, bytes] | None:
    """(mime type, bytes) for a content hash, for the `/images/{hash}.{ext}` route."""
    row = (
        await session.execute(
            select(EntityImage.mime_type, EntityImage.data)
            .where(EntityImage.content_hash == content_hash)
            .limit(1)
        )
    ).first()
    return None if row is None else (row.mime_type, row.data)


async def load_picture(session: AsyncSession, entity_id: int, state: str) -> Picture | None:
    """The stored picture for one state of one pet."""
    row = (
        await session.execute(
            select(EntityImage.mime_type, EntityImage.data).where(
                EntityImage.entity_id == entity_id, EntityImage.state == state
            )
        )
    ).first()
    return None if row is None else Picture(row.mime_type, row.data)


# --- the API's shapes and the bus events ------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, or None."""
    return None if value is None else value.isoformat()


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
        last_updated=_iso(entity.updated_at),
        created_at=_iso(entity.born_at),
        died_at=_iso(entity.died_at),
        cooldown_expires=_iso(expires),
        frozen=entity.frozen,
        sleeping=entity.sleeping_since is not None,
        sleeping_since=_iso(entity.sleeping_since),
        sleep_until=_iso(entity.sleep_until),
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
    """The warning sent when decay starts (`rules.starts_hunger`)."""
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


# --- lifecycle ----------------------------------------------------------------------------------


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
    kind, sub = species_for(repository.language, repository.github_id)
    if species in SPECIES and species != kind:
        kind, sub = species, subspecies_for(species, repository.github_id)
    generation = await _next_generation(session, repository.id)
    pet = rules.new_pet(now, generation, *decay_params(repository.config))
    base = strip_generation(name) if name else pet_name(repository.github_id)
    entity = Entity(
        repository_id=repository.id,
        generation=generation,
        name=generation_name(base, generation),
        species=kind,
        subspecies=sub,
        is_current=True,
        born_at=now,
        metadata_json={META_SEED: repository.github_id},
    )
    write_state(entity, rules.set_frozen(pet, repository.archived, now), now)
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
    decayed = rules.apply_decay(awake, now)
    after = rules.apply_death(decayed, now)
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
    if rules.starts_hunger(awake, now):
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
    entity = Entity(
        repository_id=old.repository_id,
        generation=born.generation,
        name=generation_name(old.name, born.generation),
        species=old.species,
        subspecies=old.subspecies,
        is_current=True,
        born_at=now,
        metadata_json={META_SEED: repository.github_id},
    )
    write_state(entity, rules.set_frozen(born, repository.archived, now), now)
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
    "IMAGE_PATH",
    "SOURCE_GEMINI",
    "SOURCE_SPRITE",
    "EntityNotFound",
    "PetUpdate",
    "create_pet",
    "current_pet",
    "decay_params",
    "ensure_picture",
    "entity_model",
    "entity_to_dict",
    "events_for",
    "health_update",
    "health_update_event",
    "hibernate_pet",
    "history_row",
    "hungry",
    "hungry_event",
    "hungry_message",
    "image_ext",
    "image_status",
    "image_url",
    "load_image",
    "load_picture",
    "lock_pet",
    "mark_image_status",
    "needs_image",
    "pet_and_repository",
    "pet_state",
    "record_commit",
    "revive_pet",
    "set_frozen",
    "settle_pet",
    "sprite_for",
    "sprite_seed",
    "status_change",
    "status_change_event",
    "status_message",
    "store_picture",
    "store_sprites",
    "visual_state",
    "wake_pet",
    "write_state",
]
