"""arq jobs for the pet: the hourly decay cron and picture generation.

Jobs are the only place that reads the clock: they pass `now` to the pure rules and the SQL.
Like every job they take the typed `JobContext` (settings, sessionmaker, queue, bus); arq's dict
`ctx` is wrapped once at the boundary by `app.infra.registry.as_arq`, for the queued jobs in
`app.jobs.functions` and for the cron job below.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Final

from arq.cron import CronJob, cron
from sqlalchemy import select

from app.core.config import Settings
from app.core.models import Entity, Repository, utcnow
from app.entities import images, lifecycle, pictures, rules, shapes
from app.entities.cron import Change, run_cron
from app.entities.images import ImageResult, Outcome, PetLook, Picture
from app.entities.species import strip_generation
from app.infra import job_context, registry
from app.infra.job_context import JobContext

log = logging.getLogger(__name__)

DECAY_MINUTE: Final = 7  # hourly, off the top of the hour when other crons pile up
PICTURE_REASON: Final = "new_picture"
# Optional ctx key: keyword overrides for `images.generate_picture` (attempts, backoff, timeout).
POLICY_KEY: Final = job_context.IMAGE_POLICY
BACKFILL_LIMIT: Final = 100  # picture jobs queued per hourly sweep at most


def _base_url(ctx: JobContext) -> str:
    """Absolute URLs in events: the extension runs on another origin."""
    settings: Settings | None = ctx.settings_or_none
    return settings.public_url if settings is not None else ""


def _change_entity(change: Change) -> Entity:
    """A detached Entity carrying what the event builders read."""
    return Entity(
        id=change.entity_id,
        repository_id=change.repository_id,
        name=change.name,
        species=change.species,
        subspecies=change.subspecies,
        health=change.health,
        status=change.status,
        metadata_json=change.metadata,
    )


def change_events(change: Change, now: datetime, base_url: str) -> list[dict[str, Any]]:
    """The cron's events for one pet: picture/health update, "hungry" when decay started,
    and status change if any."""
    entity = _change_entity(change)
    reason = rules.REASON_DECAY if change.health != change.old_health else lifecycle.REASON_AWAKE
    events = [shapes.health_update_event(entity, reason, now, base_url)]
    if change.hungry:
        events.append(shapes.hungry_event(entity, now, base_url))
    if change.status_changed:
        events.append(shapes.status_change_event(entity, change.old_status, now, base_url))
    return events


async def decay_pets(ctx: JobContext) -> dict[str, int]:
    """Hourly: decay and death for every eligible pet, then events and picture jobs."""
    now = utcnow()
    result = await run_cron(ctx.sessionmaker, now)
    base_url = _base_url(ctx)
    bus = ctx.bus_or_none
    wants_pictures = _has_gemini(ctx)
    for change in result.changes:
        if bus is not None:
            for event in change_events(change, now, base_url):
                await bus.publish(event)
        if wants_pictures and pictures.needs_image(_change_entity(change), change.visual):
            await request_images(ctx, change.entity_id, [change.visual])
    if wants_pictures:
        await backfill_images(ctx)
    log.info(
        "decay: %d pets decayed, %d died, %d changes",
        result.decayed,
        result.died,
        len(result.changes),
    )
    return {"decayed": result.decayed, "died": result.died, "changes": len(result.changes)}


async def backfill_images(ctx: JobContext, limit: int = BACKFILL_LIMIT) -> int:
    """Queue pictures for living pets Gemini was never asked about (newest first, bounded).

    Birth and revival should queue them at once (`request_images`); this hourly sweep is the
    safety net for a pet created while the queue was down or by a path that forgot.
    """
    never_asked = Entity.metadata_json[pictures.META_IMAGE_STATUS].as_string().is_(None)
    query = (
        select(Entity.id)
        .where(Entity.is_current.is_(True), Entity.status != rules.DEAD, never_asked)
        .order_by(Entity.born_at.desc())
        .limit(limit)
    )
    async with ctx.sessionmaker() as session:
        ids = list((await session.scalars(query)).all())
    for entity_id in ids:
        await request_images(ctx, entity_id)
    return len(ids)


def _has_gemini(ctx: JobContext) -> bool:
    """Picture jobs only make sense with a key."""
    settings: Settings | None = ctx.settings_or_none
    return settings is not None and settings.gemini_key is not None


async def request_images(ctx: JobContext, entity_id: int, states: list[str] | None = None) -> bool:
    """Queue picture generation (after birth/revival, or a state shown for the first time).

    Does nothing without a Gemini key, so embedded installs never queue useless jobs.
    """
    if not _has_gemini(ctx):
        return False
    queue = ctx.queue
    return await registry.enqueue_images(queue, entity_id, states)


async def after_update(ctx: JobContext, update: lifecycle.PetUpdate) -> None:
    """After the transaction of a `lifecycle.record_commit` (or settle) committed: publish its
    events, and ask for a picture of a state shown for the first time."""
    bus = ctx.bus_or_none
    for event in update.events:
        if bus is not None:
            await bus.publish(event)
    state = rules.visual_state(update.after)
    if update.visual_changed and pictures.needs_image(update.entity, state):
        await request_images(ctx, update.entity.id, [state])


async def _plan(
    ctx: JobContext, entity_id: int, states: list[str] | None
) -> tuple[PetLook, list[str], Picture | None] | None:
    """What to ask for: wanted states still on sprites, and the reference if it exists."""
    async with ctx.sessionmaker() as session:
        entity = await session.get(Entity, entity_id)
        if entity is None:
            return None
        repository = await session.get(Repository, entity.repository_id)
        wanted = [s for s in (states or rules.HEALTH_STATES) if pictures.needs_image(entity, s)]
        reference = None
        if pictures.image_status(entity, rules.THRIVING) == Outcome.GENERATED:
            reference = await pictures.load_picture(session, entity_id, rules.THRIVING)
    language = repository.language if repository is not None else None
    look = PetLook(entity.species, entity.subspecies, language, strip_generation(entity.name))
    return look, wanted, reference


async def _store(
    ctx: JobContext, entity_id: int, results: dict[str, ImageResult]
) -> list[dict[str, Any]]:
    """Save generated pictures and outcomes; an event if the shown picture changed."""
    now = utcnow()
    async with ctx.sessionmaker() as session, session.begin():
        entity = await lifecycle.lock_pet(session, entity_id)
        shown_before = pictures.image_url(entity)
        for state, result in results.items():
            pictures.mark_image_status(entity, state, result.outcome)
            if result.picture is not None:
                await pictures.store_picture(
                    session, entity, state, result.picture, pictures.SOURCE_GEMINI
                )
        if pictures.image_url(entity) == shown_before:
            return []
        return [shapes.health_update_event(entity, PICTURE_REASON, now, _base_url(ctx))]


async def generate_images(
    ctx: JobContext, entity_id: int, states: list[str] | None = None
) -> dict[str, str]:
    """Gemini pictures for a pet's states (all five by default); sprites stay on any failure.

    Returns each state's outcome. No key: returns at once without any network call.
    """
    client = images.make_client(ctx.settings)
    if client is None:
        return {}
    try:
        plan = await _plan(ctx, entity_id, states)
        if plan is None or not plan[1]:
            return {}
        look, wanted, reference = plan
        policy = ctx.image_policy
        model = ctx.settings.gemini_image_model
        results = await images.generate_states(client, model, look, wanted, reference, **policy)
    finally:
        await client.aio.aclose()
    for event in await _store(ctx, entity_id, results):
        bus = ctx.bus_or_none
        if bus is not None:
            await bus.publish(event)
    return {state: str(result.outcome) for state, result in results.items()}


def cron_jobs() -> list[CronJob]:
    """The pet's cron jobs for `WorkerSettings.cron_jobs`: decay hourly at minute 7."""
    return [
        cron(
            registry.as_arq(decay_pets),
            name=registry.DECAY,
            minute=DECAY_MINUTE,
            unique=True,
            timeout=1800,
        )
    ]


FUNCTIONS: Final = (decay_pets, generate_images)

__all__ = [
    "FUNCTIONS",
    "Outcome",
    "after_update",
    "backfill_images",
    "change_events",
    "cron_jobs",
    "decay_pets",
    "generate_images",
    "request_images",
]
