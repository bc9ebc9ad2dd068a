"""The analysis jobs: analyse a commit, apply it to the pet once and in order, post its status.

`analyze_commit` fetches and analyses one commit, then hands it to `app.jobs.apply` (one
transaction, exactly once, parent first) and `app.jobs.report` (statuses and events). A commit
that will never be applied (GitHub refused it, or its last try failed) releases the commits that
waited for it; `apply_stalled` (the poller's sweep) releases those whose predecessor's job was
lost. `post_push_status` posts a big push's one summary status. Retries follow
`app.infra.registry` and `app.jobs.github_errors`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from arq import Retry
from gidgethub import GitHubException
from gidgethub.abc import GitHubAPI
from sqlalchemy import select

from app.analysis.engine import AnalysisResult
from app.analysis.engine import analyze_commit as analyze
from app.analysis.review import apply_review, review_commit
from app.analysis.scoring import Score, reason_dicts
from app.analysis.source import GitHubCommitSource
from app.core.models import CommitAnalysis
from app.entities.lifecycle import current_pet
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import commit_checks, ordering
from app.jobs.apply import (
    Analysed,
    Applied,
    Target,
    apply_followers,
    apply_in_order,
    apply_with_followers,
    load_target,
)
from app.jobs.github_errors import Stop, classify
from app.jobs.repo_config import RepoConfig, load_config
from app.jobs.report import pet_after, post_status_for, post_stored_status, report
from app.jobs.statuses import push_description

log = logging.getLogger(__name__)


async def fetch_and_analyse(
    gh: GitHubAPI, target: Target, sha: str, config: RepoConfig
) -> tuple[Any, AnalysisResult]:
    """The commit's files through the GitHub source, then the CPU-bound analysis in a thread."""
    owner, name = target.full_name.split("/", 1)
    commit = await GitHubCommitSource(gh, owner, name).get_commit(sha)
    return commit, await asyncio.to_thread(analyze, commit, ignore=config.ignore, annotate=True)


async def stored_analysis(ctx: JobContext, repository_id: int, sha: str) -> CommitAnalysis | None:
    """The analysis of this commit, if it was applied already."""
    async with ctx.sessionmaker() as session:
        return await session.scalar(
            select(CommitAnalysis).where(
                CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha == sha
            )
        )


def analysis_row(
    target: Target, commit: Any, result: AnalysisResult, score: Score, review: Any = None
) -> CommitAnalysis:
    """The row that makes this commit count exactly once."""
    info = commit.info
    detail = result.metrics_dict()
    if review is not None:
        detail["review"] = {
            "summary": review.summary,
            "concerns": list(review.concerns),
            "adjustment": review.adjustment,
        }
    return CommitAnalysis(
        repository_id=target.id,
        sha=info.sha,
        message=info.message[:10000],
        author_name=info.author_name,
        author_email=info.author_email,
        author_login=info.author_login,
        committed_at=info.committed_at,
        quality_score=score.quality_score,
        complexity_score=result.complexity_score,
        test_coverage_delta=result.test_coverage_delta,
        documentation_score=result.documentation_score,
        linting_violations=result.linting_violations,
        security_issues=result.security_issues,
        health_delta=score.delta,
        reasons=reason_dicts(score),
        detail=detail,
    )


async def review(
    ctx: JobContext, config: RepoConfig, commit: Any, result: AnalysisResult
) -> tuple[Score, Any]:
    """The optional Gemini review, when the repository asks for it and a key is set."""
    settings = ctx.settings
    if not config.llm_review or settings.gemini_key is None:
        return result.score, None
    verdict = await review_commit(
        commit,
        result,
        api_key=settings.gemini_key,
        model=settings.gemini_review_model,
        base_url=settings.gemini_base_url,
    )
    return apply_review(result.score, verdict), verdict


async def analyze_commit(
    ctx: JobContext,
    repository_id: int,
    sha: str,
    post_status: bool = True,
    after: str | None = None,
) -> str:
    """Job: analyse one commit, apply it once and in order, post statuses, publish the events.

    `after` is the commit that must change the pet first (`ordering.chain`). A commit applied
    before (redelivery, retry after a crash) is not fetched again; its status is posted again
    from the stored row, which is harmless and heals a lost status.
    """
    target = await load_target(ctx, repository_id)
    if target is None:
        await forget_commit(ctx, repository_id, sha)
        return "skipped: repository not monitored"
    gh = ctx.github_app.installation_client(target.installation_id)
    row = await stored_analysis(ctx, target.id, sha)
    early = None
    try:
        config = await load_config(gh, target.full_name, sha)
        if row is None:
            early = commit_checks.announce_soon(ctx, gh, target, sha, config, post_status)
            commit, result = await fetch_and_analyse(gh, target, sha, config)
            await commit_checks.settled(early)  # before the result shows: never lands last
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        await commit_checks.settled(early)
        return await give_up_or_retry(exc, ctx, gh, target, sha)
    if row is not None:
        if post_status:
            await post_stored_status(ctx, gh, target, row, config)
        return "already applied"
    score, verdict = await review(ctx, config, commit, result)
    item = Analysed(analysis_row(target, commit, result, score, verdict), config, post_status)
    applied = await apply_in_order(ctx, target, item, after)
    if applied is None:
        return f"waiting for {after and after[:7]}"
    await report(ctx, gh, target, applied, own=sha)
    return "applied" if applied and applied[0].row.sha == sha else "already applied"


async def forget_commit(ctx: JobContext, repository_id: int, sha: str) -> None:
    """A commit of a repository no longer monitored waits for nothing and holds nothing up."""
    async with ctx.sessionmaker.begin() as session:
        await ordering.lock_repository(session, repository_id)
        await ordering.forget(session, repository_id, sha)


async def release(
    ctx: JobContext, gh: GitHubAPI, target: Target, sha: str, why: str
) -> list[Applied]:
    """The commit will not be applied: what waited for it is applied now, saying so."""
    note = f"applied without {sha[:7]} ({why})"
    async with ctx.sessionmaker.begin() as session:
        await ordering.lock_repository(session, target.id)
        await ordering.forget(session, target.id, sha)
        applied = await apply_followers(session, target, sha, ctx.settings.public_url, note)
    await report(ctx, gh, target, applied)
    return applied


def _fail(exc: BaseException, ctx: JobContext, target: Target, sha: str) -> str:
    """Raise Retry for transient failures; log and stop for permanent ones."""
    fate = classify(exc, ctx.job_try)
    if isinstance(fate, Stop):
        log.warning("analysis of %s@%s stopped: %s", target.full_name, sha[:7], fate)
        return f"stopped: {fate}"
    if isinstance(fate, Retry):
        log.info("analysis of %s@%s deferred (%s)", target.full_name, sha[:7], exc)
    raise fate


async def give_up_or_retry(
    exc: BaseException, ctx: JobContext, gh: GitHubAPI, target: Target, sha: str
) -> str:
    """`_fail`, and when the commit will never be applied (stopped, GitHub refused it, or the
    last try failed), what waited for it is applied now instead of after the stall sweep."""
    try:
        outcome = _fail(exc, ctx, target, sha)
    except Retry:
        if registry.last_try(ctx.job_try):
            await release(ctx, gh, target, sha, "its analysis failed")
            await commit_checks.abandon(ctx, gh, target, sha, "its analysis failed")
        raise
    except Exception:
        await release(ctx, gh, target, sha, "its analysis failed")
        await commit_checks.abandon(ctx, gh, target, sha, "its analysis failed")
        raise
    await release(ctx, gh, target, sha, outcome.removeprefix("stopped: "))
    await commit_checks.abandon(ctx, gh, target, sha, outcome.removeprefix("stopped: "))
    return outcome


async def apply_stalled(ctx: JobContext, now: datetime | None = None) -> int:
    """Apply analyses held up for longer than `ordering.STALL_AFTER` by a commit whose job
    failed for good or was lost, with a note; how many were applied."""
    now = now or datetime.now(UTC)
    async with ctx.sessionmaker() as session:
        repositories = await ordering.stalled_repositories(session, now)
    count = 0
    for repository_id in repositories:
        target = await load_target(ctx, repository_id)
        if target is None:
            continue
        applied = await _apply_stalled_in(ctx, target, now)
        gh = ctx.github_app.installation_client(target.installation_id)
        await report(ctx, gh, target, applied)
        count += len(applied)
    return count


async def _apply_stalled_in(ctx: JobContext, target: Target, now: datetime) -> list[Applied]:
    """One repository's stalled commits, each followed by what waited for it."""
    base_url = ctx.settings.public_url
    applied: list[Applied] = []
    async with ctx.sessionmaker.begin() as session:
        await ordering.lock_repository(session, target.id)
        gone, free = await ordering.stalled(session, target.id, now)
        for pending in free:
            applied += await apply_with_followers(session, target, pending, base_url, gone)
        for pending in await ordering.overdue(session, target.id, now):
            if pending.sha not in {a.row.sha for a in applied}:
                applied += await apply_with_followers(session, target, pending, base_url, gone)
    log.info("%s: gave up on %d commit(s), applied %d", target.full_name, len(gone), len(applied))
    return applied


async def post_push_status(ctx: JobContext, repository_id: int, head: str, shas: list[str]) -> str:
    """Job: one status on the head of a big push, once every commit of it is analysed."""
    target = await load_target(ctx, repository_id)
    if target is None:
        return "skipped: repository not monitored"
    async with ctx.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(CommitAnalysis).where(
                    CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha.in_(shas)
                )
            )
        ).all()
        pet = await current_pet(session, repository_id)
    job_try = ctx.job_try
    if len(rows) < len(shas) and not registry.last_try(job_try):
        raise Retry(defer=registry.github_backoff(job_try))
    if pet is None:
        return "skipped: no pet"
    gh = ctx.github_app.installation_client(target.installation_id)
    try:
        config = await load_config(gh, target.full_name, head)
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        return _fail(exc, ctx, target, head)
    text = push_description(rows, len(shas), list(config.errors))
    last = next((row for row in rows if row.sha == head), None)
    if last is None:
        health, status = pet.health, pet.status
        await post_status_for(
            ctx, gh, target, head, pet, text, config, health=health, status=status
        )
        return f"posted for {len(rows)} of {len(shas)} commits"
    health, status = pet_after(last, pet)
    await commit_checks.deliver(
        ctx, gh, target, last, pet, text, config, health=health, status=status,
        post_status=post_status_for,
    )  # fmt: skip
    return f"posted for {len(rows)} of {len(shas)} commits"
