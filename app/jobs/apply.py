"""Applying an analysis to the pet: exactly once, and parent first.

One transaction, under the repository's apply lock (`app.jobs.ordering`), inserts the analysis
(unique per repository and sha) together with the pet's new health and the history row, so a
redelivery, a second branch, the poller or a retry after a crash can never change health twice.
A commit whose predecessor is still pending stores its analysis (`Analysed.stored`) and is
applied, in the same kind of transaction, by whoever applies the predecessor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import CommitAnalysis, Entity, Installation, PendingCommit, Repository
from app.entities.lifecycle import PetUpdate, create_pet, current_pet, lock_pet, record_commit
from app.entities.pictures import store_sprites
from app.entities.species import generation_name, strip_generation, subspecies_for
from app.infra.job_context import JobContext
from app.jobs import ordering
from app.jobs.caretaking import credit_commit
from app.jobs.commit_history import apply_history
from app.jobs.repo_config import RepoConfig

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
    "author_login",
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


@dataclass(frozen=True)
class Target:
    """A repository as the job needs it; `permissions` are its installation's (None: not
    read yet), which decide check runs or statuses."""

    id: int
    full_name: str
    installation_id: int
    permissions: Mapping[str, Any] | None = field(default=None, compare=False)


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


async def load_target(ctx: JobContext, repository_id: int) -> Target | None:
    """The repository, if it is still monitored by a live installation."""
    async with ctx.sessionmaker() as session:
        repo = await session.get(Repository, repository_id)
        if repo is None or not repo.monitoring_enabled or repo.installation_id is None:
            return None
        inst = await session.get(Installation, repo.installation_id)
        if inst is None or inst.deleted_at is not None or inst.suspended_at is not None:
            return None
        return Target(repo.id, repo.full_name, repo.installation_id, dict(inst.permissions or {}))


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
    update.events.extend(await credit_commit(session, row, update, item.config, repo.full_name))
    return Applied(row, update, item.config, item.post_status)


async def apply_in_order(
    ctx: JobContext, target: Target, item: Analysed, after: str | None
) -> list[Applied] | None:
    """The one transaction, under the repository's apply lock: None when the commit must wait
    for `after` (its analysis is stored), else the commits applied, its own first, then those
    that waited for it; empty when a concurrent job applied it already."""
    base_url = ctx.settings.public_url
    sha = item.row.sha
    async with ctx.sessionmaker.begin() as session:
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


async def apply_with_followers(
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
