"""Re-runs: `check_run.rerequested` and `check_suite.rerequested` analyse that commit again.

A forecast re-run gets a new check run, in progress at once, on the pull request's head (the
pull request is found from our own records, since GitHub leaves `pull_requests` empty for fork
pull requests). A pushed commit's re-run reports the stored analysis again: it was applied
once and is never applied twice, so a re-run can never change the pet's health.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gidgethub.abc import GitHubAPI
from sqlalchemy import select

from app.core.models import CheckRun, CommitAnalysis, PullRequest, Repository
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import checks, commit_checks, inventory
from app.jobs.apply import Target
from app.jobs.ingest import repo_config
from app.jobs.pull_requests import OPEN, PullTarget, start_forecast

log = logging.getLogger(__name__)


async def _known(
    ctx: JobContext, repository_github_id: int, check_run_id: int | None
) -> tuple[Repository | None, CheckRun | None]:
    """Our repository row and, when named, our record of the check run."""
    async with ctx.sessionmaker() as session:
        repo = await inventory.by_github_id(session, repository_github_id)
        run = await checks.by_github_id(session, check_run_id) if check_run_id else None
        return repo, run


async def _open_pulls(ctx: JobContext, repository_id: int, head: str) -> Sequence[PullRequest]:
    """Open pull requests whose head is this commit."""
    async with ctx.sessionmaker() as session:
        return (
            await session.scalars(
                select(PullRequest).where(
                    PullRequest.repository_id == repository_id,
                    PullRequest.head_sha == head,
                    PullRequest.state == OPEN,
                )
            )
        ).all()


async def _applied(ctx: JobContext, repository_id: int, sha: str) -> bool:
    """Was this commit analysed as a push (its check run is a commit's)?"""
    async with ctx.sessionmaker() as session:
        found = await session.scalar(
            select(CommitAnalysis.id).where(
                CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha == sha
            )
        )
    return found is not None


async def rerun_forecasts(ctx: JobContext, gh: GitHubAPI, repo: Repository, head: str) -> int:
    """A new forecast, in progress at once, for each open pull request at this head."""
    count = 0
    for pull in await _open_pulls(ctx, repo.id, head):
        target = PullTarget(
            repo.id, repo.full_name, repo.installation_id or 0, pull.number, head,
            pull.base_ref, pull.base_sha,
        )  # fmt: skip
        await start_forecast(ctx, gh, target, await repo_config(gh, repo.full_name, pull.base_sha))
        count += 1
    return count


async def rerun_commit(ctx: JobContext, gh: GitHubAPI, repo: Repository, sha: str) -> bool:
    """Report a pushed commit again: a new run in progress, then its stored analysis."""
    if repo.installation_id is None or not await _applied(ctx, repo.id, sha):
        return False
    target = Target(repo.id, repo.full_name, repo.installation_id)
    config = await repo_config(gh, repo.full_name, sha)
    await commit_checks.announce(ctx, gh, target, [sha], config)
    await registry.enqueue_reanalysis(ctx.queue, repo.id, sha, defer_by=0)
    return True


async def rerun(
    ctx: JobContext,
    gh: GitHubAPI | None,
    data: dict[str, Any],
    head: str,
    check_run_id: int | None = None,
) -> int:
    """Run again what this App reported on `head` (only the named run's kind, when one is
    named); how many runs were started."""
    repo, run = await _known(ctx, int(data["repository"]["id"]), check_run_id)
    if gh is None or repo is None or not repo.monitoring_enabled:
        return 0
    started = 0
    if run is None or run.kind == checks.FORECAST:
        started += await rerun_forecasts(ctx, gh, repo, head)
    if (run is None or run.kind == checks.COMMIT) and await rerun_commit(ctx, gh, repo, head):
        started += 1
    log.info("re-run of %s@%s: %d run(s) started", repo.full_name, head[:7], started)
    return started
