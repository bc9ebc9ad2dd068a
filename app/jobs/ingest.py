"""From a push to queued analyses: which commits, in which order, with which config.

The `push` handler and the poller both end here, so the poller never reaches into a handler.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gidgethub import GitHubException
from gidgethub.abc import GitHubAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import CommitAnalysis, Repository
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import inventory, ordering
from app.jobs.handlers.base import installation_id, now
from app.jobs.repo_config import RepoConfig, load_config

log = logging.getLogger(__name__)

ZERO_SHA = "0" * 40
PAYLOAD_COMMIT_CAP = 2048  # GitHub truncates `commits` beyond this
NEW_BRANCH_HISTORY = 100  # commits of a brand-new monitored branch worth analysing
STATUS_PER_COMMIT_LIMIT = 20  # above this only the head gets a status (80 writes/min)


@dataclass(frozen=True)
class PushPlan:
    """What a push asks of the worker."""

    repository_id: int
    shas: tuple[str, ...]
    head: str
    summarize: bool
    after: tuple[str | None, ...] = ()  # per commit, the one that changes the pet before it
    config: RepoConfig = field(default_factory=RepoConfig)  # at the pushed head

    @property
    def reported(self) -> tuple[str, ...]:
        """The commits that get a status or check run: each, or the head of a big push."""
        return (self.head,) if self.summarize and self.shas else self.shas


def branch_of(ref: str) -> str | None:
    """`refs/heads/x` → `x`; tags and other refs → None."""
    prefix = "refs/heads/"
    return ref[len(prefix) :] if ref.startswith(prefix) else None


def payload_shas(data: dict[str, Any]) -> list[str]:
    """Distinct commits the payload lists, oldest first (GitHub's order)."""
    return [c["id"] for c in data.get("commits") or [] if c.get("distinct", True)]


async def complete_shas(gh: GitHubAPI | None, data: dict[str, Any], listed: list[str]) -> list[str]:
    """Fill in what the payload leaves out: truncated pushes and brand-new branches."""
    full_name, before, after = data["repository"]["full_name"], data["before"], data["after"]
    truncated = len(data.get("commits") or []) >= PAYLOAD_COMMIT_CAP
    created = before == ZERO_SHA or data.get("created", False)
    if gh is None or not (truncated or (created and not listed)):
        return listed
    try:
        if created:
            return await _branch_history(gh, full_name, after)
        return await _compare(gh, full_name, before, after)
    except GitHubException as exc:
        log.warning(
            "could not complete push %s..%s of %s (%s); using the payload's commits",
            before[:7],
            after[:7],
            full_name,
            exc,
        )
        return listed


async def _compare(gh: GitHubAPI, full_name: str, before: str, after: str) -> list[str]:
    """Every commit between before and after, oldest first (the compare API pages by 250)."""
    shas: list[str] = []
    page = 1
    while True:
        data = await gh.getitem(
            "/repos/{+full_name}/compare/{basehead}{?per_page,page}",
            url_vars={
                "full_name": full_name,
                "basehead": f"{before}...{after}",
                "per_page": "250",
                "page": str(page),
            },
        )
        batch = [c["sha"] for c in data.get("commits") or []]
        shas.extend(batch)
        if len(batch) < 250 or len(shas) >= int(data.get("total_commits") or 0):
            return shas
        page += 1


async def _branch_history(gh: GitHubAPI, full_name: str, head: str) -> list[str]:
    """The latest commits of a new branch, oldest first."""
    items = await gh.getitem(
        "/repos/{+full_name}/commits{?sha,per_page}",
        url_vars={"full_name": full_name, "sha": head, "per_page": str(NEW_BRANCH_HISTORY)},
    )
    return [c["sha"] for c in reversed(items)]


async def unanalysed(session: AsyncSession, repository_id: int, shas: Sequence[str]) -> list[str]:
    """Drop commits this repository already analysed (other branch, redelivery, poller)."""
    if not shas:
        return []
    done = set(
        (
            await session.scalars(
                select(CommitAnalysis.sha).where(
                    CommitAnalysis.repository_id == repository_id,
                    CommitAnalysis.sha.in_(list(shas)),
                )
            )
        ).all()
    )
    todo: list[str] = []
    for sha in shas:
        if sha not in done and sha not in todo:
            todo.append(sha)
    return todo


async def repo_config(gh: GitHubAPI | None, full_name: str, sha: str) -> RepoConfig:
    """The config at the pushed head; defaults when GitHub can't be asked."""
    if gh is None:
        return RepoConfig()
    try:
        return await load_config(gh, full_name, sha)
    except GitHubException as exc:
        log.warning("could not read the config of %s at %s (%s)", full_name, sha[:7], exc)
        return RepoConfig()


async def plan_push(ctx: JobContext, gh: GitHubAPI | None, data: dict[str, Any]) -> PushPlan | None:
    """Decide which commits to analyse, recording the repository on the way."""
    branch = branch_of(data.get("ref", ""))
    if branch is None or data.get("deleted") or data.get("after") == ZERO_SHA:
        return None
    if installation_id(data) is None:
        log.info("push to %s names no installation; ignored", data["repository"]["full_name"])
        return None
    async with ctx.sessionmaker.begin() as session:
        repo = await inventory.upsert_repository(
            session, data["repository"], installation_id(data), now()
        )
        if not repo.monitoring_enabled or repo.archived:
            return None
        repo_id, default_branch = repo.id, repo.default_branch
    config = await repo_config(gh, data["repository"]["full_name"], data["after"])
    if not config.monitors(branch, default_branch):
        return None
    shas = await complete_shas(gh, data, payload_shas(data))
    async with ctx.sessionmaker.begin() as session:
        todo = await unanalysed(session, repo_id, shas)
        await _note_push(session, repo_id, data, config)
    after = predecessors(shas, data.get("before"), todo)
    summarize = len(todo) > STATUS_PER_COMMIT_LIMIT
    return PushPlan(repo_id, tuple(todo), data["after"], summarize, after, config)


def predecessors(
    shas: Sequence[str], before: str | None, todo: Sequence[str]
) -> tuple[str | None, ...]:
    """For each commit to analyse, the one that must change the pet first: the previous one of
    the push (analysed already or not), `before` for the first (the previous push's head, which
    may still be on its way)."""
    order = dict(ordering.chain(shas, None if before == ZERO_SHA else before))
    return tuple(order.get(sha) for sha in todo)


async def _note_push(
    session: AsyncSession, repository_id: int, data: dict[str, Any], config: RepoConfig
) -> None:
    """Remember the head (for the poller) and the config (for the pet page)."""
    repo = await session.get(Repository, repository_id)
    assert repo is not None
    repo.last_seen_sha = data["after"]
    repo.last_event_at = now()
    repo.config = config.as_dict()


async def queue_analyses(
    ctx: JobContext,
    repository_id: int,
    shas: Sequence[str],
    post_status: bool,
    after: Sequence[str | None] | None = None,
) -> int:
    """One analyze job per commit, deduplicated by repository and sha; how many were new.

    `after` names each commit's predecessor (default: the previous one in `shas`). The order
    is recorded before any job is queued, so no job can run without knowing it.
    """
    pairs = list(zip(shas, after, strict=True)) if after is not None else ordering.chain(shas, None)
    await ordering.plan(ctx.sessionmaker, repository_id, pairs)
    queued = 0
    for sha, before in pairs:
        queue = ctx.queue
        if await registry.enqueue_analysis(queue, repository_id, sha, post_status, before):
            queued += 1
    return queued


async def queue_plan(ctx: JobContext, plan: PushPlan) -> int:
    """One analyze job per commit; a big push also gets one summary status job."""
    queued = await queue_analyses(
        ctx, plan.repository_id, plan.shas, not plan.summarize, plan.after or None
    )
    if plan.summarize:
        await registry.enqueue_push_status(ctx.queue, plan.repository_id, plan.head, plan.shas)
    return queued
