"""`push` events: queue one analysis per new distinct commit on a monitored branch."""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.infra.job_context import JobContext
from app.jobs.apply import Target
from app.jobs.commit_checks import announce
from app.jobs.handlers.base import installation_id
from app.jobs.ingest import plan_push, queue_plan

log = logging.getLogger(__name__)
router = routing.Router()


@router.register("push")
async def push(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Plan the push and queue its analyses (a big push's head is announced here)."""
    plan = await plan_push(ctx, gh, event.data)
    if plan is None:
        return
    inst = installation_id(event.data)
    target = Target(plan.repository_id, event.data["repository"]["full_name"], inst or 0)
    if plan.summarize:  # one summary for the head; other commits are announced by their job
        await announce(ctx, gh, target, plan.reported, plan.config)
    queued = await queue_plan(ctx, plan)
    log.info(
        "push to %s: %d commit(s) queued for analysis",
        event.data["repository"]["full_name"],
        queued,
    )
