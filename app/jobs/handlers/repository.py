"""`repository` events: renames, transfers, deletion, archiving, visibility, default branch."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.entities.lifecycle import set_frozen
from app.infra.job_context import JobContext
from app.jobs import inventory
from app.jobs.handlers.base import installation_id, now

router = routing.Router()


async def refresh(ctx: JobContext, data: dict[str, Any]) -> None:
    """Copy the payload's repository onto our row (name, owner, visibility, branch, archive).

    Only repositories we already know are updated: an event for a repository the App was
    never given creates nothing.
    """
    payload = data["repository"]
    async with ctx.sessionmaker.begin() as session:
        repo = await inventory.by_github_id(session, int(payload["id"]))
        if repo is None:
            return
        was_archived = repo.archived
        await inventory.upsert_repository(session, payload, installation_id(data), now())
        if repo.archived != was_archived and repo.monitoring_enabled:
            await set_frozen(session, repo.id, repo.archived, now())


@router.register("repository", action="renamed")
@router.register("repository", action="transferred")
@router.register("repository", action="edited")
@router.register("repository", action="privatized")
@router.register("repository", action="publicized")
@router.register("repository", action="archived")
@router.register("repository", action="unarchived")
async def repository_changed(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Names, owner, visibility (public pet page), default branch and archive state."""
    await refresh(ctx, event.data)


@router.register("repository", action="deleted")
async def repository_deleted(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """The repository is gone: stop monitoring, keep the pet's history."""
    async with ctx.sessionmaker.begin() as session:
        repo = await inventory.by_github_id(session, int(event.data["repository"]["id"]))
        if repo is not None:
            await inventory.stop_monitoring(session, [repo], now())
