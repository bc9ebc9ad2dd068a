"""`installation` events: the App installed, removed, suspended, or given new permissions."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.entities.jobs import request_images
from app.infra.job_context import JobContext
from app.jobs import inventory
from app.jobs.handlers.base import now, with_language

router = routing.Router()


async def adopt_repositories(
    ctx: JobContext, gh: GitHubAPI | None, inst: dict[str, Any], repos: list[dict[str, Any]]
) -> None:
    """Record the installation and give each repository a monitored pet (idempotent).

    Newborn pets have sprites at once; their generated pictures are queued after the commit.
    """
    detailed = [await with_language(gh, repo) for repo in repos]
    async with ctx.sessionmaker.begin() as session:
        when = now()
        await inventory.upsert_installation(session, inst, when)
        pets = []
        for data in detailed:
            repo = await inventory.upsert_repository(session, data, int(inst["id"]), when)
            pets.append(await inventory.start_monitoring(session, repo, when))
    for pet in pets:
        await request_images(ctx, pet.id)


@router.register("installation", action="created")
async def installation_created(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """A new installation: its repositories get pets."""
    await adopt_repositories(
        ctx, gh, event.data["installation"], list(event.data.get("repositories") or [])
    )


@router.register("installation", action="deleted")
async def installation_deleted(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Uninstalled: stop monitoring, keep every pet and its history."""
    inst_id = int(event.data["installation"]["id"])
    async with ctx.sessionmaker.begin() as session:
        when = now()
        await inventory.upsert_installation(session, event.data["installation"], when)
        await inventory.mark_installation(session, inst_id, when, deleted=True)
        await inventory.stop_monitoring(
            session, await inventory.repositories_of(session, inst_id), when
        )
    app = ctx.github
    if app is not None:
        app.tokens.forget(inst_id)


@router.register("installation", action="suspend")
@router.register("installation", action="unsuspend")
async def installation_suspension(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Suspended installations pause: no analysis, no decay. Unsuspend resumes."""
    inst = event.data["installation"]
    suspended = event.data["action"] == "suspend"
    async with ctx.sessionmaker.begin() as session:
        when = now()
        await inventory.upsert_installation(session, inst, when)
        await inventory.mark_installation(session, int(inst["id"]), when, suspended=suspended)
        await inventory.freeze_installation(session, int(inst["id"]), suspended, when)


@router.register("installation", action="new_permissions_accepted")
async def installation_permissions(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """The owner accepted new permissions: record them, and drop the old token's scope."""
    async with ctx.sessionmaker.begin() as session:
        await inventory.upsert_installation(session, event.data["installation"], now())
    app = ctx.github
    if app is not None:
        app.tokens.forget(int(event.data["installation"]["id"]))
