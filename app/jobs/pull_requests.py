"""Pull requests into monitored branches: a forecast on every head, in progress at once.

The intake (the `pull_request` handler, in the event job) records the pull request, creates
the check run `in_progress` (or posts a `pending` status where check runs are not granted) and
queues `forecast_pull_request`, which completes it. A newer head supersedes the old one: the
old head's job, when it runs, finds the pull request moved on and completes its run as
`skipped`. A job that fails for good completes its run as `neutral` with the reason. The
check's own settings (its name, `fail_below`, `annotations`, `comment`, `report`) come from
the config on the base branch, so a pull request cannot switch its own gate off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq import Retry
from gidgethub import BadRequest, GitHubException
from gidgethub.abc import GitHubAPI
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import PullRequest
from app.infra import registry
from app.infra.job_context import JobContext
from app.infra.registry import MAX_TRIES, is_transient, last_try
from app.jobs import checks, inventory
from app.jobs.handlers.base import installation_id, now
from app.jobs.ingest import repo_config
from app.jobs.repo_config import RepoConfig

log = logging.getLogger(__name__)

OPEN, CLOSED = "open", "closed"
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class PullTarget:
    """A pull request head to forecast, in a repository we monitor."""

    repository_id: int
    full_name: str
    installation_id: int
    number: int
    head_sha: str
    base_ref: str
    base_sha: str
    author: str | None = None  # the pull request's `user.login`


def pet_url(ctx: JobContext, full_name: str) -> str:
    """The pet page a check run links to."""
    return f"{ctx.settings.public_url}/pets/{full_name}"


@dataclass(frozen=True)
class Known:
    """The base repository as the intake found it, with its installation's permissions."""

    repository_id: int
    default_branch: str
    permissions: Mapping[str, Any]


async def _repository(ctx: JobContext, data: dict[str, Any]) -> Known | None:
    """Record the base repository; what the intake needs while it is monitored."""
    async with ctx.sessionmaker.begin() as session:
        repo = await inventory.upsert_repository(
            session, data["repository"], installation_id(data), now()
        )
        if not repo.monitoring_enabled or repo.archived:
            return None
        granted = await checks.permissions_of(session, repo.installation_id)
        return Known(repo.id, repo.default_branch, granted)


def event_time(pr: dict[str, Any]) -> datetime | None:
    """When GitHub last updated the pull request, as the event says."""
    stamp = pr.get("updated_at")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None


async def _locked_row(session: AsyncSession, target: PullTarget) -> PullRequest:
    """The pull request's row, created when missing, held for this transaction.

    Two events of one pull request are often handled at once (`opened` and `synchronize`
    arrive together): the insert that loses the race is skipped instead of failing on the
    unique key, and the row lock (PostgreSQL; SQLite holds its write lock from the insert on)
    makes their read-modify-write take turns, so the newer head always wins.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {
        "repository_id": target.repository_id, "number": target.number,
        "head_sha": target.head_sha, "base_ref": target.base_ref, "base_sha": target.base_sha,
        "updated_at": now(),
    }  # fmt: skip
    await session.execute(dialect.insert(PullRequest).values(values).on_conflict_do_nothing())
    row = await session.scalar(
        select(PullRequest)
        .where(
            PullRequest.repository_id == target.repository_id,
            PullRequest.number == target.number,
        )
        .with_for_update()
    )
    assert row is not None  # inserted above or already there; pull requests are not deleted
    return row


async def remember(
    target: PullTarget, head_repo: str, at: datetime | None, ctx: JobContext
) -> bool:
    """Upsert the pull request row with its newest head (older heads' jobs then skip); False
    when this event is older than one already seen (events may be handled out of order)."""
    async with ctx.sessionmaker.begin() as session:
        row = await _locked_row(session, target)
        if at is not None and row.head_at is not None and at < row.head_at:
            return False
        if row.head_sha != target.head_sha:
            row.forecast_delta = None  # a new head has no forecast yet
        row.author_login = target.author or row.author_login
        row.head_sha, row.head_repo, row.head_at = target.head_sha, head_repo, at
        row.base_ref, row.base_sha, row.state = target.base_ref, target.base_sha, OPEN
        row.updated_at = now()
    return True


async def track(
    ctx: JobContext, gh: GitHubAPI, data: dict[str, Any]
) -> tuple[PullTarget, RepoConfig, Mapping[str, Any]] | None:
    """The pull request, the base branch's config and the installation's permissions, when
    its base is monitored."""
    pr, inst = data["pull_request"], installation_id(data)
    if inst is None or pr.get("state") != OPEN or pr.get("draft"):
        return None
    known = await _repository(ctx, data)
    if known is None:
        return None
    full_name = data["repository"]["full_name"]
    config = await repo_config(gh, full_name, pr["base"]["sha"])
    if not config.monitors(pr["base"]["ref"], known.default_branch):
        return None
    target = PullTarget(
        known.repository_id, full_name, inst, int(pr["number"]), pr["head"]["sha"],
        pr["base"]["ref"], pr["base"]["sha"], (pr.get("user") or {}).get("login"),
    )  # fmt: skip
    head_repo = ((pr["head"].get("repo") or {}).get("full_name")) or ""
    if not await remember(target, head_repo, event_time(pr), ctx):
        log.info("%s#%s: an older event than one handled; ignored", full_name, target.number)
        return None
    return target, config, known.permissions


async def _modes(
    ctx: JobContext,
    target: PullTarget,
    config: RepoConfig,
    granted: Mapping[str, Any] | None,
) -> frozenset[str]:
    """Check run, status or both, by the config and what the installation granted."""
    if granted is None:
        async with ctx.sessionmaker() as session:
            granted = await checks.permissions_of(session, target.installation_id)
    return checks.report_modes(config, granted)


async def start_forecast(
    ctx: JobContext,
    gh: GitHubAPI,
    target: PullTarget,
    config: RepoConfig,
    granted: Mapping[str, Any] | None = None,
) -> int:
    """Show at once that the forecast is under way, then queue it; the check run's id (0:
    the forecast goes out as a status)."""
    modes = await _modes(ctx, target, config, granted)
    check_run_id = 0
    if checks.CHECKS in modes:
        check_run_id = await _start_check(ctx, gh, target, config)
    if check_run_id == 0 or checks.STATUS in modes:
        await checks.post_status(
            gh, target.full_name, target.head_sha, state="pending",
            description="Forecasting the pet's health if this merges…",
            context=config.context, target_url=pet_url(ctx, target.full_name),
        )  # fmt: skip
    await registry.enqueue_forecast(
        ctx.queue, target.repository_id, target.number, target.head_sha, check_run_id
    )
    return check_run_id


async def _start_check(
    ctx: JobContext, gh: GitHubAPI, target: PullTarget, config: RepoConfig
) -> int:
    """The in-progress check run; 0 when GitHub refuses it (permission not granted yet)."""
    try:
        check_run_id = await checks.create_in_progress(
            gh, target.full_name, config.context, target.head_sha,
            pet_url(ctx, target.full_name), "Forecasting the pet's health if this merges…",
        )  # fmt: skip
    except BadRequest as exc:
        if exc.status_code not in (403, 404):
            raise
        log.warning("%s: no check run allowed (%s); a status instead", target.full_name, exc)
        return 0
    async with ctx.sessionmaker.begin() as session:
        await checks.record(
            session, target.repository_id, check_run_id, target.head_sha, checks.FORECAST,
            target.number,
        )  # fmt: skip
    return check_run_id


async def pull_request_changed(ctx: JobContext, gh: GitHubAPI | None, data: dict[str, Any]) -> bool:
    """Intake of opened, synchronize, reopened and ready_for_review: True when forecast."""
    if gh is None:
        return False
    tracked = await track(ctx, gh, data)
    if tracked is None:
        return False
    await start_forecast(ctx, gh, *tracked)
    return True


async def pull_request_closed(ctx: JobContext, data: dict[str, Any]) -> None:
    """Closed or merged: forecasts still queued for it skip."""
    async with ctx.sessionmaker.begin() as session:
        repo = await inventory.by_github_id(session, int(data["repository"]["id"]))
        if repo is None:
            return
        row = await session.scalar(
            select(PullRequest).where(
                PullRequest.repository_id == repo.id,
                PullRequest.number == int(data["pull_request"]["number"]),
            )
        )
        if row is not None:
            row.state = CLOSED


def will_retry(exc: BaseException, ctx: JobContext) -> bool:
    """Will the queue run this job again (so its check run must stay in progress)?"""
    if last_try(ctx.job_try):
        return False
    return isinstance(exc, Retry) or is_transient(exc)


def describe(exc: BaseException) -> str:
    """A failure in words a check run can show (no payloads, no tokens)."""
    if isinstance(exc, GitHubException):
        return f"GitHub answered {getattr(exc, 'status_code', 'an error')}"
    if isinstance(exc, Retry):
        return f"it still failed after {MAX_TRIES} tries"
    return f"{type(exc).__name__} in the analysis"
