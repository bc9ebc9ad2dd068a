"""A public repository's pet for the pet page and badge, without signing in."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Repository
from app.entities.lifecycle import current_pet
from app.read import history, pets
from app.web.api.context import runtime, settings, utc_now
from app.web.api.errors import NO_ACTIVE_ENTITY, REPOSITORY_NOT_FOUND, ApiError
from app.web.api.params import Params, Whole, parse, printable

HISTORY_DAYS = 30
RECENT = 10
CACHE_CONTROL = "public, max-age=15"
MAX_FULL_NAME = 255


class PetQuery(Params):
    """`GET /public/pets/{owner}/{repo}` query."""

    days: Annotated[Whole, Field(ge=1, le=90)] = HISTORY_DAYS


async def public_repository(session: AsyncSession, full_name: str) -> Repository | None:
    """The repository by name (GitHub names are case-insensitive), if it is public."""
    if not printable(full_name, MAX_FULL_NAME):
        return None
    row = await session.scalar(
        select(Repository)
        .where(func.lower(Repository.full_name) == full_name.lower())
        .order_by(Repository.updated_at.desc())
        .limit(1)
    )
    return row if row is not None and not row.private else None


def not_found(full_name: str) -> ApiError:
    return ApiError(
        404,
        REPOSITORY_NOT_FOUND,
        "No public pet lives here: the repository is unknown or private.",
        details={"repository": full_name},
    )


async def public_pet(request: web.Request) -> web.Response:
    """GET /public/pets/{owner}/{repo}: pet, 30-day history and recent analyses."""
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    days = parse(PetQuery, request.query).days
    now = utc_now()
    since = now - timedelta(days=days)
    async with runtime(request).sessionmaker() as session:
        row = await public_repository(session, full_name)
        if row is None:
            raise not_found(full_name)
        entity = await current_pet(session, row.id)
        if entity is None:
            raise ApiError(404, NO_ACTIVE_ENTITY, f"{row.full_name} has no pet yet.")
        points = await pets.history(session, entity.id, since)
        body: dict[str, Any] = {
            "repository": {
                "id": row.id,
                "full_name": row.full_name,
                "language": row.language,
                "default_branch": row.default_branch,
                "monitoring_enabled": row.monitoring_enabled,
            },
            "entity": pets.entity_json(entity, row, settings(request).public_url),
            "health_history": pets.bucketed(points, "daily"),
            "summary": pets.summary(entity, points, since, now),
            "recent_analyses": await pets.recent_analyses(session, [row], RECENT),
            "changes": await history.repository_changes(session, row.id, since),
        }
    return web.json_response(body, headers={"Cache-Control": CACHE_CONTROL})


def routes() -> list[web.RouteDef]:
    """The public routes."""
    return [web.get("/public/pets/{owner}/{repo}", public_pet)]
