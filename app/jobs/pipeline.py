"""The main loop: analyse a commit, apply it to the pet exactly once, post the commit status.

`analyze_commit` is an arq job. Its one transaction inserts the analysis (unique per
repository and sha) together with the pet's new health and the history row, so a redelivery, a
second branch, the poller or a retry after a crash can never change health twice.

Analyses run side by side, but commits change the pet parent first (`app.jobs.ordering`): a commit
whose predecessor is still pending stores its analysis and is applied, in the same kind of
transaction, by whoever applies the predecessor. Each status shows the health right after its
own commit, kept in the analysis row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
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
from app.analysis.scoring import Score, reason_dicts
from app.analysis.source import GitHubCommitSource
from app.core import schemas
from app.core.models import CommitAnalysis, Entity, Installation, PendingCommit, Repository
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
from app.infra import registry
from app.infra.github import GitHubApp
from app.infra.job_context import JobContext
from app.infra.queue import MAX_TRIES
from app.jobs import commit_checks, ordering
from app.jobs.commit_history import apply_history
from app.jobs.repo_config import RepoConfig, load_config
from app.jobs.statuses import StatusText, push_description, status_description

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0  # seconds; 2, 4, 8, ... between the MAX_TRIES tries
# Keys of `commit_analyses.detail`: the pet right after the commit (what its status shows), and
# why a commit was applied before its predecessor.
PET_AFTER = "pet_after"
ORDER_NOTE = "order_note"
# The analysis columns a waiting commit keeps in `pending_commits.analysis`.
STORED_FIELDS = (
    "repository_id",
    "sha",
    "message",
    "author_name",
    "author_email",
    "quality_score",
    "complexity_score",
    "test_coverage_delta",
    "documentation_score",
    "linting_violations",
    "security_issues",
    "health_delta",
    "reasons",
    "detail",
)


class Stop(Exception):
    """The job cannot succeed (repository gone, App uninstalled): log once, don't retry."""


@dataclass(frozen=True)
class Target:
    """A repository as the job needs it."""

    id: int
    full_name: str
    installation_id: int


@dataclass(frozen=True)
class Analysed:
    """A finished analysis on its way to the pet, with the config at its commit and whether
    its commit gets a status of its own (a big push gets one summary instead)."""

    row: CommitAnalysis
    config: RepoConfig
    post_status: bool = True

    def stored(self) -> dict[str, Any]:
        """What `pending_commits.analysis` keeps while the commit waits for its predecessor."""
        row = {name: getattr(self.row, name) for name in STORED_FIELDS}
        committed = self.row.committed_at
        row["committed_at"] = committed.isoformat() if committed else None
        return {"row": row, "config": self.config.as_dict(), "post_status": self.post_status}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Analysed:
        """The analysis `stored` kept, as a fresh row ready to insert."""
        fields = dict(data["row"])
        committed = fields.pop("committed_at", None)
        row = CommitAnalysis(
            **fields, committed_at=datetime.fromisoformat(committed) if committed else None
        )
        return cls(row, RepoConfig.from_dict(data["config"]), bool(data["post_status"]))


@dataclass(frozen=True)
class Applied:
    """One commit applied to the pet: what its status and events are built from."""

    row: CommitAnalysis
    update: PetUpdate
    config: RepoConfig
    post_status: bool


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
    async with JobContext(ctx).sessionmaker() as session:
        repo = await session.get(Repository, repository_id)
        if repo is None or not repo.monitoring_enabled or repo.installation_id is None:
            return None
        inst = await session.get(Installation, repo.installation_id)
        if inst is None or inst.deleted_at is not None or inst.suspended_at is not None:
            return None
        return Target(repo.id, repo.full_name, repo.installation_id)


def github(ctx: dict[str, Any]) -> GitHubApp:
    """The App's GitHub identity."""
    return JobContext(ctx).github_app


async def fetch_and_analyse(
    gh: GitHubAPI, target: Target, sha: str, config: RepoConfig
) -> tuple[Any, AnalysisResult]:
    """The commit's files through the GitHub source, then the CPU-bound analysis in a thread."""
    owner, name = target.full_name.split("/", 1)
    commit = await GitHubCommitSource(gh, owner, name).get_commit(sha)
    return commit, await asyncio.to_thread(analyze, commit, ignore=config.ignore, annotate=True)


async def stored_analysis(
    ctx: dict[str, Any], repository_id: int, sha: str
) -> CommitAnalysis | None:
    """The analysis of this commit, if it was applied already."""
    async with JobContext(ctx).sessionmaker() as session:
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
        reasons=reason_dicts(score),
        detail=detail,
    )


async def review(
    ctx: dict[str, Any], config: RepoConfig, commit: Any, result: AnalysisResult
) -> tuple[Score, Any]:
    """The optional Gemini review, when the repository asks for it and a key is set."""
    settings = JobContext(ctx).settings
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
    session: AsyncSession, target: Target, item: Analysed, base_url: str, note: str | None = None
) -> Applied | None:
    """Insert the analysis and apply its delta; None when this commit was applied before.

    Runs under the repository's apply lock, taken before anything was read. The pet's row
    lock still comes before touching rows that reference the pet (the API and the cron take
    it too). Each commit gets its own clock reading, so a chain's history reads in order.
    """
    now, row = datetime.now(UTC), item.row
    repo = await session.get(Repository, target.id)
    assert repo is not None
    pet = await current_pet(session, target.id) or await create_pet(session, repo, now)
    await lock_pet(session, pet.id)
    if apply_config(pet, repo, item.config):
        await store_sprites(session, pet)
    row.entity_id = pet.id
    if note:
        row.detail = {**(row.detail or {}), ORDER_NOTE: note}
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    await apply_history(session, row)  # reverts and hotspots: what came before this commit
    reason = row.reasons[0]["detail"] if row.reasons else "no change"
    update = await record_commit(
        session, pet.id, row.health_delta, now, row.id, change_reason=reason, base_url=base_url
    )
    after = {"health": update.after.health, "status": update.after.status}
    row.detail = {**(row.detail or {}), PET_AFTER: after}
    await session.flush()
    return Applied(row, update, item.config, item.post_status)


async def analyze_commit(
    ctx: dict[str, Any],
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
    gh = github(ctx).installation_client(target.installation_id)
    row = await stored_analysis(ctx, target.id, sha)
    try:
        config = await load_config(gh, target.full_name, sha)
        if row is None:
            commit, result = await fetch_and_analyse(gh, target, sha, config)
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
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


async def apply_in_order(
    ctx: dict[str, Any], target: Target, item: Analysed, after: str | None
) -> list[Applied] | None:
    """The one transaction, under the repository's apply lock: None when the commit must wait
    for `after` (its analysis is stored), else the commits applied, its own first, then those
    that waited for it; empty when a concurrent job applied it already."""
    base_url = JobContext(ctx).settings.public_url
    sha = item.row.sha
    async with JobContext(ctx).sessionmaker.begin() as session:
        await ordering.lock_repository(session, target.id)
        if await applied_before(session, target.id, sha):
            await ordering.forget(session, target.id, sha)
            return []
        if await ordering.waits(session, target.id, after):
            await ordering.store(session, target.id, sha, after, item.stored())
            return None
        own = await apply_once(session, target, item, base_url)
        await ordering.forget(session, target.id, sha)
        if own is None:
            return []
        return [own, *await apply_followers(session, target, sha, base_url)]


async def applied_before(session: AsyncSession, repository_id: int, sha: str) -> bool:
    """Was the commit applied while this job analysed it (a second job of the same commit)?"""
    found = await session.scalar(
        select(CommitAnalysis.id).where(
            CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha == sha
        )
    )
    return found is not None


async def apply_followers(
    session: AsyncSession, target: Target, sha: str, base_url: str, note: str | None = None
) -> list[Applied]:
    """Apply, in order, the stored analyses that waited for `sha` (the first ones with `note`)."""

    async def apply(pending: PendingCommit) -> Applied | None:
        assert pending.analysis is not None
        first = note if pending.after_sha == sha else None
        return await apply_once(session, target, Analysed.load(pending.analysis), base_url, first)

    applied = await ordering.drain(session, target.id, sha, apply)
    return [a for a in applied if a is not None]


async def forget_commit(ctx: dict[str, Any], repository_id: int, sha: str) -> None:
    """A commit of a repository no longer monitored waits for nothing and holds nothing up."""
    async with JobContext(ctx).sessionmaker.begin() as session:
        await ordering.lock_repository(session, repository_id)
        await ordering.forget(session, repository_id, sha)


async def release(
    ctx: dict[str, Any], gh: GitHubAPI, target: Target, sha: str, why: str
) -> list[Applied]:
    """The commit will not be applied: what waited for it is applied now, saying so."""
    note = f"applied without {sha[:7]} ({why})"
    async with JobContext(ctx).sessionmaker.begin() as session:
        await ordering.lock_repository(session, target.id)
        await ordering.forget(session, target.id, sha)
        applied = await apply_followers(
            session, target, sha, JobContext(ctx).settings.public_url, note
        )
    await report(ctx, gh, target, applied)
    return applied


async def apply_stalled(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Apply analyses held up for longer than `ordering.STALL_AFTER` by a commit whose job
    failed for good or was lost, with a note; how many were applied."""
    now = now or datetime.now(UTC)
    async with JobContext(ctx).sessionmaker() as session:
        repositories = await ordering.stalled_repositories(session, now)
    count = 0
    for repository_id in repositories:
        target = await load_target(ctx, repository_id)
        if target is None:
            continue
        applied = await _apply_stalled_in(ctx, target, now)
        gh = github(ctx).installation_client(target.installation_id)
        await report(ctx, gh, target, applied)
        count += len(applied)
    return count


async def _apply_stalled_in(ctx: dict[str, Any], target: Target, now: datetime) -> list[Applied]:
    """One repository's stalled commits, each followed by what waited for it."""
    base_url = JobContext(ctx).settings.public_url
    applied: list[Applied] = []
    async with JobContext(ctx).sessionmaker.begin() as session:
        await ordering.lock_repository(session, target.id)
        gone, free = await ordering.stalled(session, target.id, now)
        for pending in free:
            applied += await _apply_with_followers(session, target, pending, base_url, gone)
        for pending in await ordering.overdue(session, target.id, now):
            if pending.sha not in {a.row.sha for a in applied}:
                applied += await _apply_with_followers(session, target, pending, base_url, gone)
    log.info("%s: gave up on %d commit(s), applied %d", target.full_name, len(gone), len(applied))
    return applied


async def _apply_with_followers(
    session: AsyncSession, target: Target, pending: PendingCommit, base_url: str, gone: set[str]
) -> list[Applied]:
    """A stored analysis applied without waiting for its predecessor, then its followers."""
    assert pending.analysis is not None
    blocker = pending.after_sha or ""
    why = "its analysis never finished" if blocker in gone else "it was held up"
    item = Analysed.load(pending.analysis)
    own = await apply_once(
        session, target, item, base_url, f"applied without {blocker[:7]} ({why})"
    )
    await session.delete(pending)
    await session.flush()
    followers = await apply_followers(session, target, pending.sha, base_url)
    return [own, *followers] if own is not None else followers


async def report(
    ctx: dict[str, Any],
    gh: GitHubAPI,
    target: Target,
    applied: Sequence[Applied],
    own: str | None = None,
) -> None:
    """Statuses and events of commits applied together, in their order.

    Each status shows the health right after its own commit. If the job's own commit's status
    fails, the job retries (its commit is applied, so the retry only posts again); another
    commit's failed status is posted again by a job of its own.
    """
    failure: BaseException | None = None
    for item in applied:
        if item.post_status:
            try:
                await commit_checks.deliver(
                    ctx,
                    gh,
                    target,
                    item.row,
                    item.update.entity,
                    status_text(item.row, item.config),
                    item.config,
                    health=item.update.after.health,
                    status=item.update.after.status,
                    post_status=post_status_for,
                )
            except Exception as exc:  # every commit still gets its events
                if item.row.sha == own:
                    failure = exc
                else:
                    await repost_later(ctx, target, item.row.sha, exc)
        await publish(ctx, target, item.row, item.update)
    if failure is not None:
        raise failure


async def repost_later(ctx: dict[str, Any], target: Target, sha: str, exc: BaseException) -> None:
    """Queue an `analyze_commit` of an applied commit: it only posts the status again."""
    log.info("status for %s@%s failed (%s); posting it again later", target.full_name, sha[:7], exc)
    await registry.enqueue_reanalysis(JobContext(ctx).queue, target.id, sha, defer_by=backoff(1))


async def post_stored_status(
    ctx: dict[str, Any], gh: GitHubAPI, target: Target, row: CommitAnalysis, config: RepoConfig
) -> None:
    """The status of a commit applied before, with the health right after it."""
    async with JobContext(ctx).sessionmaker() as session:
        pet = await current_pet(session, target.id)
    if pet is None:
        return
    health, status = pet_after(row, pet)
    text = status_text(row, config)
    await commit_checks.deliver(
        ctx, gh, target, row, pet, text, config, health=health, status=status,
        post_status=post_status_for,
    )  # fmt: skip


def pet_now(pet: Entity) -> dict[str, Any]:
    """The pet's health and status as `post_status_for` takes them."""
    return {"health": pet.health, "status": pet.status}


def pet_after(row: CommitAnalysis, pet: Entity) -> tuple[int, str]:
    """Health and status right after this commit (older rows did not keep them: the pet now)."""
    after = (row.detail or {}).get(PET_AFTER) or {}
    return int(after.get("health", pet.health)), str(after.get("status", pet.status))


def status_text(row: CommitAnalysis, config: RepoConfig) -> StatusText:
    """What the status says about one analysed commit (why it went before its parent first)."""
    note = (row.detail or {}).get(ORDER_NOTE)
    return StatusText(
        delta=row.health_delta,
        reasons=[*([note] if note else []), *(r["detail"] for r in row.reasons)],
        config_errors=list(config.errors),
    )


def _fail(exc: BaseException, ctx: dict[str, Any], target: Target, sha: str) -> str:
    """Raise Retry for transient failures; log and stop for permanent ones."""
    fate = classify(exc, JobContext(ctx).job_try)
    if isinstance(fate, Stop):
        log.warning("analysis of %s@%s stopped: %s", target.full_name, sha[:7], fate)
        return f"stopped: {fate}"
    if isinstance(fate, Retry):
        log.info("analysis of %s@%s deferred (%s)", target.full_name, sha[:7], exc)
    raise fate


async def give_up_or_retry(
    exc: BaseException, ctx: dict[str, Any], gh: GitHubAPI, target: Target, sha: str
) -> str:
    """`_fail`, and when the commit will never be applied (stopped, GitHub refused it, or the
    last try failed), what waited for it is applied now instead of after the stall sweep."""
    try:
        outcome = _fail(exc, ctx, target, sha)
    except Retry:
        if JobContext(ctx).job_try >= MAX_TRIES:
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


async def post_status_for(
    ctx: dict[str, Any],
    gh: GitHubAPI,
    target: Target,
    sha: str,
    pet: Entity,
    text: StatusText,
    config: RepoConfig,
    *,
    health: int,
    status: str,
) -> bool:
    """POST the commit status showing `health` and `status` (the pet right after the commit;
    name and look are the pet's now); a 422 is logged and dropped, other failures retry."""
    settings = JobContext(ctx).settings
    emoji = emoji_for(pet.species, pet.subspecies)
    state = "failure" if config.fail_below is not None and health < config.fail_below else "success"
    body = {
        "state": state,
        "description": status_description(emoji, pet.name, health, status, text),
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
        fate = classify(exc, JobContext(ctx).job_try)
        if isinstance(fate, Stop):
            log.warning("status for %s@%s stopped: %s", target.full_name, sha[:7], fate)
            return False
        raise fate from exc
    return True


async def publish(
    ctx: dict[str, Any], target: Target, row: CommitAnalysis, update: PetUpdate
) -> None:
    """analysis_complete, then the pet's own events and pictures for a state shown first."""
    event = schemas.AnalysisComplete(
        repository=target.full_name,
        repository_id=target.id,
        entity_id=update.entity.id,
        commit_sha=row.sha,
        commit_message=row.message.splitlines()[0][:200] if row.message else "",
        author=row.author_name,
        quality_score=row.quality_score,
        health_delta=row.health_delta,
        reasons=row.reasons,
        timestamp=row.processed_at.isoformat() if row.processed_at else None,
    )
    await JobContext(ctx).bus.publish(event.json_dict())
    await after_update(ctx, update)


async def post_push_status(
    ctx: dict[str, Any], repository_id: int, head: str, shas: list[str]
) -> str:
    """Job: one status on the head of a big push, once every commit of it is analysed."""
    target = await load_target(ctx, repository_id)
    if target is None:
        return "skipped: repository not monitored"
    async with JobContext(ctx).sessionmaker() as session:
        rows = (
            await session.scalars(
                select(CommitAnalysis).where(
                    CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha.in_(shas)
                )
            )
        ).all()
        pet = await current_pet(session, repository_id)
    if len(rows) < len(shas) and JobContext(ctx).job_try < MAX_TRIES:
        raise Retry(defer=backoff(JobContext(ctx).job_try))
    if pet is None:
        return "skipped: no pet"
    gh = github(ctx).installation_client(target.installation_id)
    try:
        config = await load_config(gh, target.full_name, head)
    except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
        return _fail(exc, ctx, target, head)
    text = push_description(rows, len(shas), list(config.errors))
    last = next((row for row in rows if row.sha == head), None)
    if last is None:
        await post_status_for(ctx, gh, target, head, pet, text, config, **pet_now(pet))
        return f"posted for {len(rows)} of {len(shas)} commits"
    health, status = pet_after(last, pet)
    await commit_checks.deliver(
        ctx, gh, target, last, pet, text, config, health=health, status=status,
        post_status=post_status_for,
    )  # fmt: skip
    return f"posted for {len(rows)} of {len(shas)} commits"
