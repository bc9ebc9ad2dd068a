"""Telling the world about applied commits: their commit statuses and their events.

Each status shows the health right after its own commit (kept in the analysis row, `PET_AFTER`);
its name and look are the pet's now. The events go to the bus after the transaction committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gidgethub import GitHubException
from gidgethub.abc import GitHubAPI

from app.core import schemas
from app.core.models import CommitAnalysis, Entity
from app.entities.jobs import after_update
from app.entities.lifecycle import PetUpdate, current_pet
from app.entities.species import emoji_for
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import commit_checks
from app.jobs.apply import ORDER_NOTE, PET_AFTER, Applied, Target
from app.jobs.github_errors import Stop, classify
from app.jobs.repo_config import RepoConfig
from app.jobs.statuses import StatusText, status_description

log = logging.getLogger(__name__)


async def report(
    ctx: JobContext,
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


async def repost_later(ctx: JobContext, target: Target, sha: str, exc: BaseException) -> None:
    """Queue an `analyze_commit` of an applied commit: it only posts the status again."""
    log.info("status for %s@%s failed (%s); posting it again later", target.full_name, sha[:7], exc)
    await registry.enqueue_reanalysis(
        ctx.queue, target.id, sha, defer_by=registry.github_backoff(1)
    )


async def post_stored_status(
    ctx: JobContext, gh: GitHubAPI, target: Target, row: CommitAnalysis, config: RepoConfig
) -> None:
    """The status of a commit applied before, with the health right after it."""
    async with ctx.sessionmaker() as session:
        pet = await current_pet(session, target.id)
    if pet is None:
        return
    health, status = pet_after(row, pet)
    text = status_text(row, config)
    await commit_checks.deliver(
        ctx, gh, target, row, pet, text, config, health=health, status=status,
        post_status=post_status_for,
    )  # fmt: skip


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


async def post_status_for(
    ctx: JobContext,
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
    settings = ctx.settings
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
        fate = classify(exc, ctx.job_try)
        if isinstance(fate, Stop):
            log.warning("status for %s@%s stopped: %s", target.full_name, sha[:7], fate)
            return False
        raise fate from exc
    return True


async def publish(ctx: JobContext, target: Target, row: CommitAnalysis, update: PetUpdate) -> None:
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
    await ctx.bus.publish(event.json_dict())
    await after_update(ctx, update)
