"""Recent commit analyses with their reasons, and asking for an analysis run now."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from aiohttp import web
from pydantic import Field

from app.core.models import Repository
from app.infra import registry
from app.infra.queue.base import QueueUnavailable
from app.read import pets
from app.web.api.access import may_view, require_push, visible_repositories
from app.web.api.context import json_body, runtime, utc_now
from app.web.api.entities import viewer
from app.web.api.errors import ANALYSIS_FAILED, REPOSITORY_NOT_FOUND, ApiError, invalid
from app.web.api.params import Id, Params, Whole, parse

log = logging.getLogger(__name__)

ESTIMATE = timedelta(seconds=30)


class RecentQuery(Params):
    """`GET /analysis/recent` query."""

    limit: Annotated[Whole, Field(ge=1, le=50)] = 10
    repository_id: Id | None = Field(default=None, description="Tamagitto's repository id")


class TriggerBody(Params):
    """`POST /analysis/trigger` body."""

    repository_id: Id


def _not_found(repository_id: int) -> ApiError:
    return ApiError(
        404,
        REPOSITORY_NOT_FOUND,
        "No such repository, or you cannot see it.",
        details={"repository_id": repository_id},
    )


async def recent(request: web.Request) -> web.Response:
    """GET /analysis/recent?limit=&repository_id=."""
    query = parse(RecentQuery, request.query)
    wanted = query.repository_id
    access = await viewer(request)
    async with runtime(request).sessionmaker() as session:
        if wanted is None:
            repositories = await visible_repositories(session, access)
        else:
            row = await session.get(Repository, wanted)
            if row is None or not may_view(access, row):
                raise _not_found(wanted)
            repositories = [row]
        analyses = await pets.recent_analyses(session, repositories, query.limit)
    return web.json_response({"analyses": analyses})


async def trigger(request: web.Request) -> web.Response:
    """POST /analysis/trigger {repository_id}: look for new commits now (202)."""
    repository_id = parse(TriggerBody, await json_body(request)).repository_id
    access = await viewer(request)
    async with runtime(request).sessionmaker() as session:
        row = await session.get(Repository, repository_id)
    if row is None or row.github_id not in access.repos:
        raise _not_found(repository_id)
    if not row.monitoring_enabled:
        raise invalid("repository_id", "Monitoring is off for this repository; turn it on first.")
    await require_push(request, access, row.full_name)
    await _enqueue(request, row.id)
    return web.json_response(
        {
            "message": f"Looking for new commits in {row.full_name}.",
            "estimated_completion": (utc_now() + ESTIMATE).isoformat(),
        },
        status=202,
    )


async def _enqueue(request: web.Request, repository_id: int) -> None:
    """One run per repository per minute; the queue deduplicates by job id."""
    try:
        await registry.enqueue_poll(runtime(request).queue, repository_id)
    except (QueueUnavailable, ValueError) as exc:
        log.warning("analysis trigger not queued (%s)", type(exc).__name__)
        raise ApiError(
            503, ANALYSIS_FAILED, "The analysis could not be queued right now; try again later."
        ) from None


def routes() -> list[web.RouteDef]:
    """The analysis routes."""
    return [
        web.get("/analysis/recent", recent),
        web.post("/analysis/trigger", trigger),
    ]
