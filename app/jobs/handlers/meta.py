"""`meta` events: the App's webhook itself was deleted."""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.infra.job_context import JobContext

log = logging.getLogger(__name__)
router = routing.Router()


@router.register("meta", action="deleted")
async def hook_deleted(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Nothing will arrive any more; say so loudly (the poller keeps pets up to date)."""
    log.error(
        "GitHub deleted this App's webhook (hook %s); only polling will see new commits",
        event.data.get("hook_id"),
    )
