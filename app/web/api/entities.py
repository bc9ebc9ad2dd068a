"""The signed-in person's pets: list, current, one, rename, history and revival."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import AwareDatetime, Field, field_validator

from app.core.models import Entity, Repository
from app.core.text import visible
from app.core.times import iso
from app.entities import rules
from app.entities.jobs import after_update, request_images
from app.entities.lifecycle import (
    EntityNotFound,
    PetUpdate,
    hibernate_pet,
    pet_and_repository,
    revive_pet,
    wake_pet,
)
from app.entities.shapes import status_change_event
from app.entities.species import generation_name, strip_generation
from app.infra.job_context import JobContext
from app.read import history, pets
from app.web.api.access import Access, access_for, may_view, require_push, visible_repositories
from app.web.api.context import json_body, runtime, settings, utc_now
from app.web.api.errors import (
    COOLDOWN_ACTIVE,
    ENTITY_ALIVE,
    ENTITY_DEAD,
    ENTITY_NOT_FOUND,
    INSUFFICIENT_PERMISSIONS,
    NO_ACTIVE_ENTITY,
    ApiError,
    invalid,
)
from app.web.api.params import Params, Whole, parse, path_id, printable
from app.web.api.sessions import authenticate

log = logging.getLogger(__name__)

NAME_MAX = 40
TREND_DAYS = 30
_NAME_OK = re.compile(r"^[^\x00-\x1f\x7f<>]+$")
# A name as the OpenAPI document states it; the models accept longer text (see `_new_name`).
NAME_SCHEMA: dict[str, Any] = {"minLength": 1, "maxLength": NAME_MAX}


class HistoryQuery(Params):
    """`GET /entities/{id}/health-history` query."""

    days: Annotated[Whole, Field(ge=1, le=90)] = TREND_DAYS
    granularity: str = Field("daily", json_schema_extra={"enum": list(pets.GRANULARITIES)})

    @field_validator("granularity")
    @classmethod
    def _known(cls, value: str) -> str:
        """One of the bucket sizes `pets.bucketed` knows."""
        if value not in pets.GRANULARITIES:
            raise ValueError(f"must be one of: {', '.join(pets.GRANULARITIES)}")
        return value


class RenameBody(Params):
    """`PATCH /entities/{id}` body."""

    name: str = Field(max_length=400, json_schema_extra=NAME_SCHEMA)


class HibernateBody(Params):
    """`POST /entities/{id}/hibernate` body: `until` needs an offset (no guessing zones)."""

    until: AwareDatetime | None = Field(
        default=None, description=f"with an offset; at most {rules.MAX_SLEEP.days} days ahead"
    )


async def viewer(request: web.Request) -> Access:
    """The signed-in person's access (401 without a valid session)."""
    principal = await authenticate(request)
    return await access_for(request, principal.user_id)


def base_url(request: web.Request) -> str:
    """Absolute picture URLs, so the extension can load them from its own origin."""
    return settings(request).public_url


async def _visible_pet(request: web.Request, access: Access) -> tuple[Entity, Repository]:
    """The pet named in the path, if this person may see it; 404 otherwise (no leak)."""
    entity_id = path_id(request.match_info, "id")
    async with runtime(request).sessionmaker() as session:
        try:
            entity, repository = await pet_and_repository(session, entity_id)
        except EntityNotFound:
            raise _no_pet(entity_id) from None
        if not may_view(access, repository):
            raise _no_pet(entity_id)
        return entity, repository


def _no_pet(entity_id: int) -> ApiError:
    """Unknown and invisible pets look the same, so ids reveal nothing."""
    return ApiError(404, ENTITY_NOT_FOUND, "No such pet.", details={"id": entity_id})


async def _may_change(request: web.Request, access: Access, repository: Repository) -> None:
    """Changes need the repository in the person's access and push rights on it."""
    if repository.github_id not in access.repos:
        raise ApiError(
            403, INSUFFICIENT_PERMISSIONS, "Only people with access to the repository can do this."
        )
    await require_push(request, access, repository.full_name)


async def list_entities(request: web.Request) -> web.Response:
    """GET /entities: every current pet of the person's repositories."""
    access = await viewer(request)
    async with runtime(request).sessionmaker() as session:
        found = await pets.current_pets(session, await visible_repositories(session, access))
        return web.json_response({"entities": pets.pets_json(found, base_url(request))})


async def current(request: web.Request) -> web.Response:
    """GET /entities/current: the most recently active pet and its 30-day trend."""
    access = await viewer(request)
    now = utc_now()
    async with runtime(request).sessionmaker() as session:
        found = await pets.current_pets(session, await visible_repositories(session, access))
        if not found:
            raise ApiError(
                404, NO_ACTIVE_ENTITY, "No pet yet: turn monitoring on for a repository."
            )
        entity, repository = max(found, key=lambda p: pets.activity(p[0]))
        points = await pets.history(session, entity.id, now - timedelta(days=TREND_DAYS))
        return web.json_response(
            {
                "entity": pets.entity_json(entity, repository, base_url(request)),
                "health_trend": pets.health_trend(points),
            }
        )


async def get_entity(request: web.Request) -> web.Response:
    """GET /entities/{id}."""
    access = await viewer(request)
    entity, repository = await _visible_pet(request, access)
    return web.json_response({"entity": pets.entity_json(entity, repository, base_url(request))})


def _new_name(body: dict[str, Any]) -> str:
    """A printable name of 1 to 40 characters."""
    name = " ".join(visible(parse(RenameBody, body).name).split())
    if not name:
        raise invalid("name", "`name` is required and must be a non-empty string.")
    if not printable(name, NAME_MAX) or not _NAME_OK.match(name):
        raise invalid("name", f"`name` must be at most {NAME_MAX} printable characters.")
    return name


async def rename(request: web.Request) -> web.Response:
    """PATCH /entities/{id}: rename a living pet (its generation suffix is kept)."""
    access = await viewer(request)
    name = _new_name(await json_body(request))
    entity, repository = await _visible_pet(request, access)
    await _may_change(request, access, repository)
    async with runtime(request).sessionmaker.begin() as session:
        entity = await session.get(Entity, entity.id, with_for_update=True) or entity
        if entity.status == rules.DEAD:
            raise ApiError(400, ENTITY_DEAD, f"{entity.name} has died; revive it first.")
        entity.name = generation_name(strip_generation(name), entity.generation)
        entity.updated_at = utc_now()
        await session.flush()
        doc = pets.entity_json(entity, repository, base_url(request))
    return web.json_response({"entity": doc})


async def health_history(request: web.Request) -> web.Response:
    """GET /entities/{id}/health-history?days=&granularity=."""
    query = parse(HistoryQuery, request.query)
    access = await viewer(request)
    entity, _ = await _visible_pet(request, access)
    now = utc_now()
    since = now - timedelta(days=query.days)
    async with runtime(request).sessionmaker() as session:
        points = await pets.history(session, entity.id, since)
        changes = await history.entity_changes(session, entity.id, since)
    return web.json_response(
        {
            "entity_id": entity.id,
            "health_history": pets.bucketed(points, query.granularity),
            "summary": pets.summary(entity, points, since, now),
            "changes": changes,
        }
    )


async def reset(request: web.Request) -> web.Response:
    """POST /entities/{id}/reset: a new generation once the 48-hour cooldown is over."""
    access = await viewer(request)
    entity, repository = await _visible_pet(request, access)
    await _may_change(request, access, repository)
    now = utc_now()
    try:
        async with runtime(request).sessionmaker.begin() as session:
            born = await revive_pet(session, entity.id, now)
            doc = pets.entity_json(born, repository, base_url(request))
            event = status_change_event(born, rules.DEAD, now, base_url(request))
    except rules.CooldownActive as exc:
        raise ApiError(
            400,
            COOLDOWN_ACTIVE,
            f"{entity.name} died too recently; a new pet can hatch after the cooldown.",
            details={"cooldown_expires": iso(exc.expires_at)},
            extra={"cooldown_expires": iso(exc.expires_at)},
        ) from None
    except rules.PetAlive:
        raise ApiError(
            409, ENTITY_ALIVE, f"{entity.name} is alive; only a dead pet can be revived."
        ) from None
    event["message"] = f"{doc['name']} has hatched!"
    await _publish(request, event)
    await queue_pictures(request, born.id)
    return web.json_response(
        {"entity": doc, "cooldown_expires": None, "message": f"{doc['name']} has hatched!"},
        status=201,
    )


async def hibernate(request: web.Request) -> web.Response:
    """POST /entities/{id}/hibernate: no decay until the next commit or `until` (≤ 90 days)."""
    access = await viewer(request)
    until = parse(HibernateBody, await json_body(request)).until
    entity, repository = await _visible_pet(request, access)
    await _may_change(request, access, repository)
    try:
        async with runtime(request).sessionmaker.begin() as session:
            update = await hibernate_pet(session, entity.id, utc_now(), until, base_url(request))
            doc = pets.entity_json(update.entity, repository, base_url(request))
    except rules.PetDead:
        raise ApiError(400, ENTITY_DEAD, f"{entity.name} has died; it cannot rest.") from None
    except rules.BadSleep:
        days = rules.MAX_SLEEP.days
        message = f"`until` must be in the future, at most {days} days ahead."
        raise invalid("until", message) from None
    await _announce(request, update)
    when = f"until {iso(until)}" if until else "until its next commit"
    return web.json_response({"entity": doc, "message": f"{doc['name']} is asleep {when}."})


async def wake(request: web.Request) -> web.Response:
    """DELETE /entities/{id}/hibernate: wake now; a pet already awake is left as it is."""
    access = await viewer(request)
    entity, repository = await _visible_pet(request, access)
    await _may_change(request, access, repository)
    async with runtime(request).sessionmaker.begin() as session:
        update = await wake_pet(session, entity.id, utc_now(), base_url(request))
        doc = pets.entity_json(update.entity, repository, base_url(request))
    await _announce(request, update)
    return web.json_response({"entity": doc, "message": f"{doc['name']} is awake."})


async def _announce(request: web.Request, update: PetUpdate) -> None:
    """Events and the new picture's job after commit; their failure must not undo the change."""
    try:
        await after_update(JobContext(runtime(request).job_ctx()), update)
    except Exception as exc:
        log.warning("could not announce pet %s (%s)", update.entity.id, type(exc).__name__)


async def queue_pictures(request: web.Request, entity_id: int) -> None:
    """Ask for the new generation's pictures; the sprites stand in until they exist."""
    try:
        await request_images(JobContext(runtime(request).job_ctx()), entity_id)
    except Exception as exc:
        log.warning("could not queue pictures for pet %s (%s)", entity_id, type(exc).__name__)


async def _publish(request: web.Request, event: dict[str, Any]) -> None:
    """Tell open sockets; a bus failure must not undo a committed revival."""
    try:
        await runtime(request).bus.publish(event)
    except Exception as exc:
        log.warning("could not publish %s (%s)", event.get("type"), type(exc).__name__)


def routes() -> list[web.RouteDef]:
    """The entity routes (`/entities/current` before `/entities/{id}`)."""
    return [
        web.get("/entities", list_entities),
        web.get("/entities/current", current),
        web.get("/entities/{id}", get_entity),
        web.patch("/entities/{id}", rename),
        web.get("/entities/{id}/health-history", health_history),
        web.post("/entities/{id}/reset", reset),
        web.post("/entities/{id}/hibernate", hibernate),
        web.delete("/entities/{id}/hibernate", wake),
    ]
