"""Pushes to monitored branches: `report: checks | status | both`.

Each commit that will be reported gets an `in_progress` check run (checks) or a `pending`
status (status) as soon as its analysis job starts (`announce_soon`, concurrently with fetching
and analysing the commit, and finished before the result can be reported), so people see at
once that it is being looked at, and the early signal never costs the result any time. A big
push's head, reported by one summary job, is announced by the intake. The pipeline then
reports each applied commit through `deliver`: the check run
carries the same kind of summary and annotations as a pull request's, for the commit's actual
delta. `report` defaults to `checks` when the installation granted `checks: write`, else
`status`, and an installation that has not accepted the permission keeps statuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from gidgethub import BadRequest, GitHubException
from gidgethub.abc import GitHubAPI

from app.core.models import CheckRun, CommitAnalysis, Entity
from app.entities import rules
from app.entities.lifecycle import current_pet
from app.entities.species import emoji_for
from app.infra.github import LRUCache
from app.infra.job_context import JobContext
from app.jobs import check_output, checks
from app.jobs.annotations import annotations_for, stored_findings
from app.jobs.apply import Target, load_target
from app.jobs.repo_config import RepoConfig
from app.jobs.statuses import StatusText, status_description

log = logging.getLogger(__name__)

StatusPoster = Callable[..., Awaitable[bool]]
# Pending statuses this process posted and no result replaced yet: `repository:sha` -> context.
# The job that posts one is the job that gives up on it, so a process-local record suffices.
_pending: LRUCache = LRUCache(maxsize=4096)
GITHUB_ERRORS = (GitHubException, aiohttp.ClientError, TimeoutError)


def pet_url(ctx: JobContext, full_name: str, sha: str | None = None) -> str:
    """The pet page (at a commit, as statuses link it)."""
    base = f"{ctx.settings.public_url}/pets/{full_name}"
    return f"{base}?sha={sha}" if sha else base


async def permissions(ctx: JobContext, target: Target) -> Mapping[str, Any]:
    """The installation's permissions (read with the target when `load_target` made it)."""
    if target.permissions is not None:
        return target.permissions
    async with ctx.sessionmaker() as session:
        return await checks.permissions_of(session, target.installation_id)


async def _intake_view(ctx: JobContext, target: Target) -> tuple[Mapping[str, Any], str]:
    """The installation's permissions and `🐱 Mochi` for pending texts, in one session."""
    async with ctx.sessionmaker() as session:
        granted = await checks.permissions_of(session, target.installation_id)
        pet = await current_pet(session, target.id)
    label = f"{emoji_for(pet.species, pet.subspecies)} {pet.name}" if pet else "🥚 The pet"
    return granted, label


async def announce(
    ctx: JobContext,
    gh: GitHubAPI | None,
    target: Target,
    shas: Sequence[str],
    config: RepoConfig,
) -> None:
    """In progress at once: a check run or a pending status on each commit to be reported.

    Runs before the analyses are queued, so a job never finishes before its run exists. A
    failure here only costs the early signal: the job still reports the result.
    """
    if gh is None or not shas:
        return
    granted, label = await _intake_view(ctx, target)
    modes = checks.report_modes(config, granted)
    for sha in shas:
        try:
            if checks.CHECKS in modes and await _open_run(ctx, target, sha) is None:
                await _start(ctx, gh, target, sha, config, label)
            if checks.STATUS in modes:
                await checks.post_status(
                    gh, target.full_name, sha, state="pending",
                    description=f"{label}: analysing this commit…", context=config.context,
                    target_url=pet_url(ctx, target.full_name, sha),
                )  # fmt: skip
                _pending[f"{target.id}:{sha}"] = config.context
        except GITHUB_ERRORS as exc:
            log.warning("no early signal for %s@%s: %s", target.full_name, sha[:7], exc)


def announce_soon(
    ctx: JobContext,
    gh: GitHubAPI,
    target: Target,
    sha: str,
    config: RepoConfig,
    reported: bool,
) -> asyncio.Task[None] | None:
    """Start announcing one commit in the background (None when it gets no report of its
    own); the caller awaits the task before the result can be reported."""
    if not reported:
        return None
    return asyncio.create_task(announce(ctx, gh, target, [sha], config), name=f"announce:{sha}")


async def settled(task: asyncio.Task[None] | None) -> None:
    """Let an announcement in flight finish (it never raises), so nothing it creates is
    left behind by a job that gives up."""
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)


async def _start(
    ctx: JobContext, gh: GitHubAPI, target: Target, sha: str, config: RepoConfig, label: str
) -> None:
    """One in-progress run, remembered for the job that completes it."""
    check_run_id = await checks.create_in_progress(
        gh, target.full_name, config.context, sha, pet_url(ctx, target.full_name, sha),
        f"{label}: analysing this commit…",
    )  # fmt: skip
    async with ctx.sessionmaker.begin() as session:
        await checks.record(session, target.id, check_run_id, sha, checks.COMMIT)


def commit_output(
    ctx: JobContext,
    target: Target,
    row: CommitAnalysis,
    pet: Entity,
    text: StatusText,
    config: RepoConfig,
    health: int,
    status: str,
) -> checks.CheckOutput:
    """A pushed commit's run: the status line as title, its reasons and annotations."""
    emoji = emoji_for(pet.species, pet.subspecies)
    secret = any(r.get("code") == "secret_committed" for r in row.reasons or [])
    concluded = check_output.conclusion(text.delta, health, secret, config)
    return checks.CheckOutput(
        conclusion="neutral" if status == rules.DEAD and concluded != "failure" else concluded,
        title=status_description(emoji, pet.name, health, status, text),
        summary=check_output.commit_summary(
            row, pet.name, health, config, pet_url(ctx, target.full_name)
        ),
        annotations=annotations_for(stored_findings(row.detail), config.annotations),
    )


async def _open_run(ctx: JobContext, target: Target, sha: str) -> CheckRun | None:
    async with ctx.sessionmaker() as session:
        return await checks.open_run(session, target.id, sha, checks.COMMIT)


async def publish_check(
    ctx: JobContext,
    gh: GitHubAPI,
    target: Target,
    sha: str,
    output: checks.CheckOutput,
    name: str,
) -> bool:
    """Complete the commit's announced run, or create a completed one named `name`; False
    when GitHub refuses check runs here (the caller posts a status instead)."""
    run = await _open_run(ctx, target, sha)
    try:
        if run is not None:
            await checks.complete(gh, target.full_name, run.github_id, output)
            github_id = run.github_id
        else:
            github_id = await checks.create_completed(
                gh, target.full_name, name, sha, pet_url(ctx, target.full_name, sha), output
            )
    except BadRequest as exc:
        if exc.status_code in (403, 404, 422):
            log.warning("check run for %s@%s refused: %s", target.full_name, sha[:7], exc)
            return False
        raise
    async with ctx.sessionmaker.begin() as session:
        if run is None:
            await checks.record(session, target.id, github_id, sha, checks.COMMIT)
        await checks.mark_completed(session, github_id)
    return True


async def deliver(
    ctx: JobContext,
    gh: GitHubAPI,
    target: Target,
    row: CommitAnalysis,
    pet: Entity,
    text: StatusText,
    config: RepoConfig,
    *,
    health: int,
    status: str,
    post_status: StatusPoster,
) -> None:
    """Report one applied commit where the config and the installation say: a check run,
    a commit status, or both. An announced run is always completed."""
    granted = await permissions(ctx, target)
    modes = checks.report_modes(config, granted)
    # A run announced before the config changed is completed too (none without the permission).
    wants_check = checks.CHECKS in modes or (
        checks.can_check(granted) and await _open_run(ctx, target, row.sha) is not None
    )
    checked = False
    if wants_check:
        output = commit_output(ctx, target, row, pet, text, config, health, status)
        checked = await publish_check(ctx, gh, target, row.sha, output, config.context)
    if checks.STATUS in modes or not checked:
        await post_status(ctx, gh, target, row.sha, pet, text, config, health=health, status=status)
    _pending.pop(f"{target.id}:{row.sha}", None)


async def abandon(ctx: JobContext, gh: GitHubAPI, target: Target, sha: str, why: str) -> None:
    """The commit will never be reported: complete what was announced for it, saying why (a
    pending status this process posted becomes an `error` status: statuses have no neutral)."""
    run = await _open_run(ctx, target, sha)
    context = _pending.pop(f"{target.id}:{sha}", None)
    try:
        if run is not None:
            output = checks.neutral("Analysis unavailable", why)
            await checks.complete(gh, target.full_name, run.github_id, output)
            async with ctx.sessionmaker.begin() as session:
                await checks.mark_completed(session, run.github_id)
        if context is not None:
            await checks.post_status(
                gh, target.full_name, sha, state="error",
                description=f"Tamagitto could not analyse this commit: {why}", context=context,
                target_url=pet_url(ctx, target.full_name, sha),
            )  # fmt: skip
    except GITHUB_ERRORS as exc:
        log.warning("could not complete the run of %s@%s: %s", target.full_name, sha[:7], exc)


async def sweep_check_runs(ctx: JobContext) -> int:
    """Cron: complete, as neutral, runs still in progress long after any job would have
    finished (their job was lost); how many."""
    async with ctx.sessionmaker() as session:
        stale = list(await checks.stale_runs(session, datetime.now(UTC)))
    done = 0
    for run in stale:
        target = await load_target(ctx, run.repository_id)
        async with ctx.sessionmaker.begin() as session:
            await checks.mark_completed(session, run.github_id)
        if target is None:
            continue
        gh = ctx.github_app.installation_client(target.installation_id)
        output = checks.neutral("Analysis unavailable", "its job did not finish in time")
        try:
            await checks.complete(gh, target.full_name, run.github_id, output)
            done += 1
        except GITHUB_ERRORS as exc:
            log.warning("could not complete stale run %s: %s", run.github_id, exc)
    return done
