"""The polling fallback: catch commits whose webhook never arrived (seed: every 5 minutes).

GitHub never redelivers on its own, so deliveries lost while the app was down are found here.
Requests are conditional (gidgethub's ETag cache), so an unchanged branch costs a 304 and no
rate limit, and installations below 10% of their rate limit are skipped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from arq.cron import CronJob, cron
from gidgethub import GitHubException
from gidgethub.abc import GitHubAPI
from sqlalchemy import select

from app.core.models import Installation, Repository
from app.infra import registry
from app.infra.github import GitHubApp
from app.infra.job_context import JobContext
from app.jobs.ingest import predecessors, queue_analyses, unanalysed
from app.jobs.pipeline import apply_stalled

log = logging.getLogger(__name__)

PAGE = 30
MIN_REMAINING_FRACTION = 0.10


@dataclass(frozen=True)
class Watched:
    """A branch to look at."""

    repository_id: int
    full_name: str
    branch: str
    last_seen: str | None


async def watched(ctx: JobContext) -> dict[int, list[Watched]]:
    """Monitored branches per live installation."""
    async with ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Repository, Installation)
                .join(Installation, Repository.installation_id == Installation.id)
                .where(
                    Repository.monitoring_enabled.is_(True),
                    Repository.archived.is_(False),
                    Installation.deleted_at.is_(None),
                    Installation.suspended_at.is_(None),
                )
            )
        ).all()
    out: dict[int, list[Watched]] = defaultdict(list)
    for repo, inst in rows:
        for branch in branches_of(repo):
            out[inst.id].append(Watched(repo.id, repo.full_name, branch, repo.last_seen_sha))
    return out


def branches_of(repo: Repository) -> list[str]:
    """The default branch plus configured branches that are names, not globs."""
    configured = [
        b for b in (repo.config or {}).get("branches") or [] if not any(c in b for c in "*?[")
    ]
    return list(dict.fromkeys(configured or [repo.default_branch]))


async def has_budget(gh: GitHubAPI, installation_id: int) -> bool:
    """False below 10% of the installation's rate limit (GET /rate_limit itself is free)."""
    try:
        data = await gh.getitem("/rate_limit")
    except GitHubException as exc:
        log.warning("poller: rate limit of installation %s unknown (%s)", installation_id, exc)
        return False
    core = data.get("resources", {}).get("core") or data.get("rate") or {}
    limit, remaining = int(core.get("limit") or 0), int(core.get("remaining") or 0)
    if limit and remaining < limit * MIN_REMAINING_FRACTION:
        log.info(
            "poller: skipping installation %s, %d of %d requests left",
            installation_id,
            remaining,
            limit,
        )
        return False
    return True


async def new_commits(gh: GitHubAPI, item: Watched) -> list[str]:
    """Commits on the branch after the last seen one, oldest first (conditional request)."""
    commits = await gh.getitem(
        "/repos/{+full_name}/commits{?sha,per_page}",
        url_vars={"full_name": item.full_name, "sha": item.branch, "per_page": str(PAGE)},
    )
    shas = [c["sha"] for c in commits]
    if item.last_seen is None:
        return shas[:1]  # first look: only the head, never the whole history
    if item.last_seen in shas:
        shas = shas[: shas.index(item.last_seen)]
    return list(reversed(shas))


async def poll_branch(ctx: JobContext, gh: GitHubAPI, item: Watched) -> int:
    """Queue what the webhooks missed on one branch; returns how many were queued."""
    shas = await new_commits(gh, item)
    if not shas:
        return 0
    async with ctx.sessionmaker.begin() as session:
        todo = await unanalysed(session, item.repository_id, shas)
        repo = await session.get(Repository, item.repository_id)
        if repo is not None and item.branch == repo.default_branch:
            repo.last_seen_sha = shas[-1]
    after = predecessors(shas, item.last_seen, todo)
    queued = await queue_analyses(ctx, item.repository_id, todo, True, after)
    if queued:
        log.info(
            "poller: %s@%s had %d commit(s) no webhook told us about",
            item.full_name,
            item.branch,
            queued,
        )
    return queued


async def poll_repositories(ctx: JobContext) -> dict[str, int]:
    """Cron job: every monitored branch of every live installation; first, commits held up
    by a predecessor whose job never finished are applied (`pipeline.apply_stalled`)."""
    app: GitHubApp | None = ctx.github
    if app is None or not app.settings.app_configured:
        return {"queued": 0, "skipped": 0}
    try:
        await apply_stalled(ctx)
    except Exception:  # the polling below must still happen
        log.exception("poller: applying stalled commits failed")
    queued = skipped = 0
    for installation_id, items in (await watched(ctx)).items():
        gh = app.installation_client(installation_id)
        if not await has_budget(gh, installation_id):
            skipped += 1
            continue
        for item in items:
            try:
                queued += await poll_branch(ctx, gh, item)
            except GitHubException as exc:
                log.warning("poller: %s@%s failed (%s)", item.full_name, item.branch, exc)
    return {"queued": queued, "skipped": skipped}


async def poll_repository(ctx: JobContext, repository_id: int) -> dict[str, int]:
    """Job behind `POST /api/analysis/trigger`: look at one repository's branches now."""
    app: GitHubApp | None = ctx.github
    if app is None or not app.settings.app_configured:
        return {"queued": 0}
    queued = 0
    for installation_id, items in (await watched(ctx)).items():
        mine = [item for item in items if item.repository_id == repository_id]
        if not mine:
            continue
        gh = app.installation_client(installation_id)
        for item in mine:
            try:
                queued += await poll_branch(ctx, gh, item)
            except GitHubException as exc:
                log.warning("trigger: %s@%s failed (%s)", item.full_name, item.branch, exc)
    return {"queued": queued}


def cron_jobs() -> list[CronJob]:
    """Every five minutes, offset from the hour's other crons."""
    return [
        cron(
            registry.as_arq(poll_repositories),
            name=registry.POLL_ALL,
            minute=set(range(2, 60, 5)),
            unique=True,
            timeout=600,
        )
    ]
