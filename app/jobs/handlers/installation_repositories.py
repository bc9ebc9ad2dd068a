"""`installation_repositories` events: repositories added to or removed from an installation."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.infra.job_context import JobContext
from app.jobs import inventory
from app.jobs.handlers.base import now
from app.jobs.handlers.installation import adopt_repositories

router = routing.Router()


@router.register("installation_repositories", action="added")
async def repositories_added(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Like a new installation, for the added repositories."""
    await adopt_repositories(
        ctx, gh, event.data["installation"], list(event.data.get("repositories_added") or [])
    )


@router.register("installation_repositories", action="removed")
async def repositories_removed(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Stop monitoring the removed repositories; their pets and history stay."""
    ids = [int(r["id"]) for r in event.data.get("repositories_removed") or []]
    async with ctx.sessionmaker.begin() as session:
        await inventory.stop_monitoring(session, await inventory.by_github_ids(session, ids), now())
