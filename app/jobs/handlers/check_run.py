"""`check_run` and `check_suite` events: someone asked GitHub to re-run our check."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.infra.job_context import JobContext
from app.jobs.reruns import rerun

router = routing.Router()


def ours(ctx: JobContext, app: dict[str, Any] | None) -> bool:
    """Is the run (or suite) this App's? GitHub sends re-runs to the owner, but be sure."""
    settings = ctx.settings_or_none
    if settings is None or settings.app_id is None or not app:
        return True
    return int(app.get("id") or 0) == settings.app_id


@router.register("check_run", action="rerequested")
async def check_run_rerequested(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Re-run one check run: the same kind of run, on the same commit."""
    run = event.data["check_run"]
    if ours(ctx, run.get("app")):
        await rerun(ctx, gh, event.data, run["head_sha"], int(run["id"]))


@router.register("check_suite", action="rerequested")
async def check_suite_rerequested(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Re-run everything we reported on the suite's commit."""
    suite = event.data["check_suite"]
    if ours(ctx, suite.get("app")):
        await rerun(ctx, gh, event.data, suite["head_sha"])
