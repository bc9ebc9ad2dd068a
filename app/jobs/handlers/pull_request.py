"""`pull_request` events: a health forecast on every head of a pull request into a monitored
branch (drafts wait for `ready_for_review`)."""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.infra.job_context import JobContext
from app.jobs.pull_requests import pull_request_changed, pull_request_closed

log = logging.getLogger(__name__)
router = routing.Router()


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="ready_for_review")
async def pull_request(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """A new head (or a pull request newly worth it): in progress at once, forecast queued."""
    if await pull_request_changed(ctx, gh, event.data):
        pr = event.data["pull_request"]
        log.info(
            "pull request %s#%s at %s: forecast queued",
            event.data["repository"]["full_name"],
            pr["number"],
            pr["head"]["sha"][:7],
        )


@router.register("pull_request", action="closed")
async def closed(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Closed or merged: forecasts still queued for it skip (a merge reaches the pet as a
    push)."""
    await pull_request_closed(ctx, event.data)
