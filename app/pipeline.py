"""The main loop: analyse a commit, apply it to the pet exactly once, post the commit status.

`analyze_commit` is an arq job. Its one transaction inserts the analysis (unique per
repository and sha) together with the pet's new health and the history row, so a redelivery, a
second branch, the poller or a retry after a crash can never change health twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from arq import Retry
from gidgethub import BadRequest, GitHubBroken, GitHubException, RateLimitExceeded
from gidgethub.abc import GitHubAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.analysis.engine import AnalysisResult
from app.analysis.engine import analyze_commit as analyze
from app.analysis.review import apply_review, review_commit
from app.analysis.scoring import Score
from app.analysis.source import GitHubCommitSource
from app.entities.jobs import after_update
from app.entities.service import (
    PetUpdate,
    create_pet,
    current_pet,
    lock_pet,
    record_commit,
    store_sprites,
)
from app.entities.species import emoji_for, generation_name, strip_generation, subspecies_for
from app.github import GitHubApp
from app.models import CommitAnalysis, Entity, Installation, Repository
from app.queue import MAX_TRIES
from app.repo_config import RepoConfig, load_config
from app.status import StatusText, push_description, status_description

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0  # seconds; 2, 4, 8, ... between the MAX_TRIES tries


class Stop(Exception):
    """The job cannot succeed (repository gone, App uninstalled): log once, don't retry."""


@dataclass(frozen=True)
class Target:
    """A repository as the job needs it."""

    id: int
    full_name: str
    installation_id: int


def backoff(job_try: int) -> float:
    """Exponential backoff for GitHub 5xx and timeouts."""
    return BACKOFF_BASE ** max(1, job_try)


def retry_after(exc: GitHubException) -> float:
    """How long GitHub asked us to wait (Retry-After, else the rate-limit reset)."""
    headers = getattr(exc, "headers", None) or {}
    if headers.get("retry-after"):
        return float(headers["retry-after"])
    if isinstance(exc, RateLimitExceeded):
        return max(1.0, (exc.rate_limit.reset_datetime - datetime.now(UTC)).total_seconds())
    reset = headers.get("x-ratelimit-reset")
    if reset:
        return max(1.0, float(reset) - datetime.now(UTC).timestamp())
    return 60.0


def is_secondary_limit(exc: GitHubException) -> bool:
    """403 with Retry-After or an exhausted quota is a rate limit, not a permission error."""
    status = getattr(exc, "status_code", None)
    headers = getattr(exc, "headers", None) or {}
    return status == 403 and (
        "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    )


def classify(exc: BaseException, job_try: int) -> BaseException:
    """Map a GitHub failure to the job's fate: Retry (deferred), Stop, or the error itself."""
    if isinstance(exc, RateLimitExceeded) or (
        isinstance(exc, BadRequest) and (exc.status_code == 429 or is_secondary_limit(exc))
    ):
        return Retry(defer=retry_after(exc))
    if isinstance(exc, GitHubBroken | aiohttp.ClientError | TimeoutError):
        return Retry(defer=backoff(job_try))
    if isinstance(exc, BadRequest) and exc.status_code in (401, 403, 404, 410, 422):
        return Stop(f"GitHub answered {exc.status_code}")
    return exc


async def load_target(ctx: dict[str, Any], repository_id: int) -> Target | None:
    """The repository, if it is still monitored by a live installation."""
    async with ctx["sessionmaker"]() as session:
        repo = await session.get(Repository, repository_id)
        if repo is None or not repo.monitoring_enabled or repo.installation_id is None:
            return None
        inst = await session.get(Installation, repo.installation_id)
        if inst is None or inst.deleted_at is not None or inst.suspended_at is not None:
            return None
        return Target(repo.id, repo.full_name, repo.installation_id)


def github(ctx: dict[str, Any]) -> GitHubApp:
    """The App's GitHub identity."""
    app: GitHubApp = ctx["github"]
    return app


async def fetch_and_analyse(
    gh: GitHubAPI, target: Target, sha: str, config: RepoConfig
) -> tuple[Any, AnalysisResult]:
    """The commit's files through the GitHub source, then the CPU-bound analysis in a thread."""
    owner, name = target.full_name.split("/", 1)
    commit = await GitHubCommitSource(gh, owner, name).get_commit(sha)
    return commit, await asyncio.to_thread(analyze, commit, ignore=config.ignore)


async def stored_analysis(
    ctx: dict[str, Any], repository_id: int, sha: str
) -> CommitAnalysis | None:
    """The analysis of this commit, if it was applied already."""
    async with ctx["sessionmaker"]() as session:
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
        committed_at=info.committed_at,
        quality_score=score.quality_score,
        complexity_score=result.complexity_score,
        test_coverage_delta=result.test_coverage_delta,
        documentation_score=result.documentation_score,
        linting_violations=result.linting_violations,
        security_issues=result.security_issues,
        health_delta=score.delta,
        reasons=[{"code": r.code, "points": r.points, "detail": r.detail} for r in score.reasons],
        detail=detail,
    )


async def review(
    ctx: dict[str, Any], config: RepoConfig, commit: Any, result: AnalysisResult
) -> tuple[Score, Any]:
    """The optional Gemini review, when the repository asks for it and a key is set."""
    settings = ctx["settings"]
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


def apply_config(pet: Entity, repo: Repository, config: RepoConfig) -> bool:
    """The config's name and species override the generated ones; True if the look changed."""
    if config.name and strip_generation(pet.name) != config.name:
        pet.name = generation_name(config.name, pet.generation)
    if config.species and pet.species != config.species:
        pet.species = config.species
        pet.subspecies = subspecies_for(config.species, repo.github_id)
        return True
    return False


async def apply_once(
    session: AsyncSession,
    target: Target,
    row: CommitAnalysis,
    now: datetime,
    base_url: str,
    config: RepoConfig | None = None,
) -> PetUpdate | None:
    """Insert the analysis and apply its delta; None when this commit was applied before.

    The pet's row lock comes first: taking it after touching rows that reference the pet
    would upgrade a shared lock and deadlock two commits of one repository.
    """
    repo = await session.get(Repository, target.id)
    assert repo is not None
    pet = await current_pet(session, target.id) or await create_pet(session, repo, now)
    await lock_pet(session, pet.id)
    if config is not None and apply_config(pet, repo, config):
        await store_sprites(session, pet)
    row.entity_id = pet.id
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    reason = row.reasons[0]["detail"] if row.reasons else "no change"
    return await record_commit(
        session, pet.id, row.health_delta, now, row.id, change_reason=reason, base_url=base_url
    )


async def analyze_commit(
    ctx: dict[str, Any], repository_id: int, sha: str, post_status: bool = True
) -> str:
    """Job: analyse one commit, apply it once, post its status, publish the events.

    A commit applied before (redelivery, retry after a crash) is not fetched again; its
    status is posted again from the stored row, which is harmless and heals a lost status.
    """
    target = await load_target(ctx, repository_id)
    if target is None:
        return "skipped: repository not monitored"
    gh = github(ctx).installation_client(target.installation_id)
    row = await stored_analysis(ctx, target.id, sha)
    update: PetUpdate | None = None
    try:
        config = await load_config(gh, target.full_name, sha)
        if row is None:
            commit, result = await fetch_and_analyse(gh, target, sha, config)
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        return _fail(exc, ctx, target, sha)
    if row is None:
        score, verdict = await review(ctx, config, commit, result)
        new = analysis_row(target, commit, result, score, verdict)
        row, update = await apply_analysis(ctx, target, new, config)
    async with ctx["sessionmaker"]() as session:
        pet = await current_pet(session, target.id)
    if pet is not None and post_status:
        await post_status_for(ctx, gh, target, sha, pet, status_text(row, config), config)
    if update is not None:
        await publish(ctx, target, row, update)
    return "applied" if update is not None else "already applied"


async def apply_analysis(
    ctx: dict[str, Any], target: Target, row: CommitAnalysis, config: RepoConfig
) -> tuple[CommitAnalysis, PetUpdate | None]:
    """The one transaction: analysis row, pet health and history, or nothing at all."""
    async with ctx["sessionmaker"].begin() as session:
        update = await apply_once(
            session, target, row, datetime.now(UTC), ctx["settings"].public_url, config
        )
    if update is None:  # a concurrent job won the race; report its row
        stored = await stored_analysis(ctx, target.id, row.sha)
        return stored or row, None
    return row, update


def status_text(row: CommitAnalysis, config: RepoConfig) -> StatusText:
    """What the status says about one analysed commit."""
    return StatusText(
        delta=row.health_delta,
        reasons=[r["detail"] for r in row.reasons],
        config_errors=list(config.errors),
    )


def _fail(exc: BaseException, ctx: dict[str, Any], target: Target, sha: str) -> str:
    """Raise Retry for transient failures; log and stop for permanent ones."""
    fate = classify(exc, ctx.get("job_try") or 1)
    if isinstance(fate, Stop):
        log.warning("analysis of %s@%s stopped: %s", target.full_name, sha[:7], fate)
        return f"stopped: {fate}"
    if isinstance(fate, Retry):
        log.info("analysis of %s@%s deferred (%s)", target.full_name, sha[:7], exc)
    raise fate


async def post_status_for(
    ctx: dict[str, Any],
    gh: GitHubAPI,
    target: Target,
    sha: str,
    pet: Entity,
    text: StatusText,
    config: RepoConfig,
) -> bool:
    """POST the commit status; a 422 is logged and dropped, other failures retry the job."""
    settings = ctx["settings"]
    emoji = emoji_for(pet.species, pet.subspecies)
    state = (
        "failure" if config.fail_below is not None and pet.health < config.fail_below else "success"
    )
    body = {
        "state": state,
        "description": status_description(emoji, pet.name, pet.health, pet.status, text),
        "context": config.context,
        "target_url": f"{settings.public_url}/pets/{target.full_name}?sha={sha}",
    }
    try:
        await gh.post(
            "/repos/{+full_name}/statuses/{sha}",
            url_vars={"full_name": target.full_name, "sha": sha},
            data=body,
        )
    except GitHubException as exc:
        if getattr(exc, "status_code", None) == 422:
            log.warning("status for %s@%s refused (422): %s", target.full_name, sha[:7], exc)
            return False
        fate = classify(exc, ctx.get("job_try") or 1)
        if isinstance(fate, Stop):
            log.warning("status for %s@%s stopped: %s", target.full_name, sha[:7], fate)
            return False
        raise fate from exc
    return True


async def publish(
    ctx: dict[str, Any], target: Target, row: CommitAnalysis, update: PetUpdate
) -> None:
    """analysis_complete, then the pet's own events and pictures for a state shown first."""
    bus = ctx["bus"]
    await bus.publish(
        {
            "type": "analysis_complete",
            "repository": target.full_name,
            "repository_id": target.id,
            "entity_id": update.entity.id,
            "commit_sha": row.sha,
            "commit_message": row.message.splitlines()[0][:200] if row.message else "",
            "author": row.author_name,
            "quality_score": row.quality_score,
            "health_delta": row.health_delta,
            "reasons": row.reasons,
            "timestamp": row.processed_at.isoformat() if row.processed_at else None,
        }
    )
    await after_update(ctx, update)


async def post_push_status(
    ctx: dict[str, Any], repository_id: int, head: str, shas: list[str]
) -> str:
    """Job: one status on the head of a big push, once every commit of it is analysed."""
    target = await load_target(ctx, repository_id)
    if target is None:
        return "skipped: repository not monitored"
    async with ctx["sessionmaker"]() as session:
        rows = (
            await session.scalars(
                select(CommitAnalysis).where(
                    CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha.in_(shas)
                )
            )
        ).all()
        pet = await current_pet(session, repository_id)
    if len(rows) < len(shas) and (ctx.get("job_try") or 1) < MAX_TRIES:
        raise Retry(defer=backoff(ctx.get("job_try") or 1))
    if pet is None:
        return "skipped: no pet"
    gh = github(ctx).installation_client(target.installation_id)
    try:
        config = await load_config(gh, target.full_name, head)
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        return _fail(exc, ctx, target, head)
    text = push_description(rows, len(shas), list(config.errors))
    await post_status_for(ctx, gh, target, head, pet, text, config)
    return f"posted for {len(rows)} of {len(shas)} commits"
