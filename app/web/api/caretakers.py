"""A pet's caretakers: who added and took away health, streaks and achievements.

Two doors, one read model (`app.read.caretakers`): the signed-in one follows the pet's
visibility (a private repository's caretakers only for people who can see the repository,
404 for everyone else, as for the pet itself), and the public one answers for public
repositories only. `caretakers: off` answers `enabled: false` with nothing else on both.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from app.entities.lifecycle import EntityNotFound, current_pet, pet_and_repository
from app.read import caretakers
from app.web.api.access import may_view
from app.web.api.context import runtime, utc_now
from app.web.api.entities import viewer
from app.web.api.errors import ENTITY_NOT_FOUND, NO_ACTIVE_ENTITY, ApiError
from app.web.api.params import Params, Whole, parse, path_id
from app.web.api.public import CACHE_CONTROL, not_found, public_repository

DEFAULT_DAYS = 30
MAX_DAYS = 365


class CaretakersQuery(Params):
    """`GET /entities/{id}/caretakers` query: the period, besides all time."""

    days: Annotated[Whole, Field(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS


async def entity_caretakers(request: web.Request) -> web.Response:
    """GET /entities/{id}/caretakers?days=: the pet's caretakers, if this person may see it."""
    days = parse(CaretakersQuery, request.query).days
    access = await viewer(request)
    entity_id = path_id(request.match_info, "id")
    async with runtime(request).sessionmaker() as session:
        try:
            entity, repository = await pet_and_repository(session, entity_id)
        except EntityNotFound:
            entity = None
        if entity is None or not may_view(access, repository):
            raise ApiError(404, ENTITY_NOT_FOUND, "No such pet.", details={"id": entity_id})
        doc = await caretakers.caretakers(
            session, entity.id, repository.id, repository.config, days, utc_now()
        )
    return web.json_response(doc.json_dict())


async def public_caretakers(request: web.Request) -> web.Response:
    """GET /public/pets/{owner}/{repo}/caretakers?days=: a public repository's caretakers."""
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    days = parse(CaretakersQuery, request.query).days
    async with runtime(request).sessionmaker() as session:
        repository = await public_repository(session, full_name)
        if repository is None:
            raise not_found(full_name)
        entity = await current_pet(session, repository.id)
        if entity is None:
            raise ApiError(404, NO_ACTIVE_ENTITY, f"{repository.full_name} has no pet yet.")
        doc = await caretakers.caretakers(
            session, entity.id, repository.id, repository.config, days, utc_now()
        )
    return web.json_response(doc.json_dict(), headers={"Cache-Control": CACHE_CONTROL})


def routes() -> list[web.RouteDef]:
    """The caretakers routes."""
    return [
        web.get("/entities/{id}/caretakers", entity_caretakers),
        web.get("/public/pets/{owner}/{repo}/caretakers", public_caretakers),
    ]
