"""The `forecast_pull_request` job: compute a head's forecast and complete its check run.

Every way out completes the run: with the forecast, as `skipped` when a newer head superseded
it, or as `neutral` with the reason when the job cannot succeed (GitHub refused it, the
repository is gone, or the last try failed). Only a job that will run again leaves it in
progress, and `checks.sweep` completes runs whose job was lost altogether.
"""

from __future__ import annotations

import logging

import aiohttp
from gidgethub import GitHubException
from gidgethub.abc import GitHubAPI
from sqlalchemy import select

from app.core.models import PullRequest
from app.infra.job_context import JobContext
from app.jobs import check_output, checks, forecast_credit, pr_comment
from app.jobs.annotations import annotations_for
from app.jobs.apply import Target, load_target
from app.jobs.forecast import Forecast, PullRef, forecast
from app.jobs.github_errors import Stop, classify
from app.jobs.ingest import repo_config
from app.jobs.pull_requests import OPEN, SUPERSEDED, describe, pet_url, will_retry
from app.jobs.repo_config import RepoConfig

log = logging.getLogger(__name__)

TITLE_FAILED = "Forecast unavailable"


async def forecast_pull_request(
    ctx: JobContext, repository_id: int, number: int, head_sha: str, check_run_id: int
) -> str:
    """Job: the forecast of one head, on its check run (or as a status when `0`)."""
    target = await load_target(ctx, repository_id)
    if target is None:
        return "skipped: repository not monitored"
    gh = ctx.github_app.installation_client(target.installation_id)
    try:
        return await run(ctx, gh, target, number, head_sha, check_run_id)
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        fate = classify(exc, ctx.job_try)
        if not isinstance(fate, Stop) and will_retry(fate, ctx):
            raise fate from exc
        await give_up(ctx, gh, target, number, head_sha, check_run_id, describe(exc))
        if isinstance(fate, Stop):
            return f"stopped: {fate}"
        raise fate from exc
    except Exception as exc:
        if not will_retry(exc, ctx):
            await give_up(ctx, gh, target, number, head_sha, check_run_id, describe(exc))
        raise


async def current_pull(ctx: JobContext, repository_id: int, number: int) -> PullRequest | None:
    """The pull request as the newest event left it."""
    async with ctx.sessionmaker() as session:
        found: PullRequest | None = await session.scalar(
            select(PullRequest).where(
                PullRequest.repository_id == repository_id, PullRequest.number == number
            )
        )
        return found


async def run(
    ctx: JobContext, gh: GitHubAPI, target: Target, number: int, head: str, check_run_id: int
) -> str:
    """Skip a superseded head; else forecast, complete the run, post status and comment."""
    pull = await current_pull(ctx, target.id, number)
    if pull is None or pull.head_sha != head or pull.state != OPEN:
        newer = pull.head_sha if pull is not None and pull.state == OPEN else None
        await skip(ctx, gh, target, check_run_id, newer)
        return SUPERSEDED
    config = await repo_config(gh, target.full_name, pull.base_sha)
    review = config.llm_review and ctx.settings.gemini_key is not None
    ref = PullRef(target.id, target.full_name, target.installation_id, number, head, pull.base_ref)
    async with ctx.sessionmaker() as session:
        fc = await forecast(gh, session, ref, review)
    output = build_output(ctx, fc, config, target.full_name, pull.base_ref)
    if check_run_id:
        await checks.complete(gh, target.full_name, check_run_id, output)
        await mark(ctx, check_run_id)
    if check_run_id == 0 or config.report == "both":
        await forecast_status(ctx, gh, target, head, output, config)
    await pr_comment.update(ctx, gh, target, pull, fc, output, config)
    await forecast_credit.record(ctx, target, pull, head, fc.delta, config)
    return f"forecast {fc.before} -> {fc.after} over {len(fc.commits)} commit(s)"


def build_output(
    ctx: JobContext, fc: Forecast, config: RepoConfig, full_name: str, base_ref: str
) -> checks.CheckOutput:
    """The check run's conclusion, title, summary and annotations."""
    commit_url = f"{ctx.settings.github_url}/{full_name}/commit"
    summary = check_output.forecast_summary(
        fc, config, base_ref, pet_url(ctx, full_name), commit_url
    )
    return checks.CheckOutput(
        conclusion=check_output.forecast_conclusion(fc, config),
        title=check_output.forecast_title(fc),
        summary=summary,
        annotations=annotations_for(fc.findings, config.annotations),
    )


async def mark(ctx: JobContext, check_run_id: int) -> None:
    """The run is completed: the sweep leaves it alone."""
    async with ctx.sessionmaker.begin() as session:
        await checks.mark_completed(session, check_run_id)


def status_state(conclusion: str) -> str:
    """A check conclusion as a commit status state (neutral is informational: success)."""
    return "failure" if conclusion == "failure" else "success"


async def forecast_status(
    ctx: JobContext,
    gh: GitHubAPI,
    target: Target,
    head: str,
    output: checks.CheckOutput,
    config: RepoConfig,
) -> None:
    """The forecast as the head's commit status: its title is the description."""
    await checks.post_status(
        gh, target.full_name, head, state=status_state(output.conclusion),
        description=output.title, context=config.context,
        target_url=pet_url(ctx, target.full_name),
    )  # fmt: skip


async def skip(
    ctx: JobContext, gh: GitHubAPI, target: Target, check_run_id: int, newer: str | None
) -> None:
    """Complete a superseded head's run as skipped, pointing at what replaced it."""
    if not check_run_id:
        return
    why = f"a newer push ({newer[:7]})" if newer else "the pull request was closed"
    output = checks.CheckOutput(
        "skipped",
        f"Superseded by {why}",
        f"This head is no longer the pull request's: {why}. The forecast is on the new head.",
    )
    await checks.complete(gh, target.full_name, check_run_id, output)
    await mark(ctx, check_run_id)


async def give_up(
    ctx: JobContext,
    gh: GitHubAPI,
    target: Target,
    number: int,
    head: str,
    check_run_id: int,
    reason: str,
) -> None:
    """The job will not succeed: complete its run as neutral, saying why (best effort)."""
    log.warning("forecast of %s@%s failed for good: %s", target.full_name, head[:7], reason)
    try:
        if check_run_id:
            output = checks.neutral(TITLE_FAILED, reason)
            await checks.complete(gh, target.full_name, check_run_id, output)
            await mark(ctx, check_run_id)
            return
        pull = await current_pull(ctx, target.id, number)
        config = await repo_config(gh, target.full_name, pull.base_sha) if pull else RepoConfig()
        await checks.post_status(
            gh, target.full_name, head, state="error",
            description=f"{TITLE_FAILED}: {reason}", context=config.context,
            target_url=pet_url(ctx, target.full_name),
        )  # fmt: skip
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not complete check run %s: %s (the sweep will)", check_run_id, exc)
