"""Credit and achievements where commits are applied, and the backfill of older analyses.

`credit_commit` runs in the transaction that applies a commit (`pipeline.apply_once`), under
the repository's apply lock: it writes one `analysis_credits` row per person the commit
credits, asks the rules (`app.entities.achievements`) what each earned, writes the grants
(once per person and repository: a unique key), and returns the `achievement` events to
publish after commit. A repository with `caretakers: off` still gets its rows (turning it on
again shows the truth) but no events.

Repositories analysed before credits existed are in `caretaker_backfill`; `backfill_caretakers`
(a cron job) credits their analyses in the order they were applied, silently, with the same
code, and until then the commit path leaves their new commits to it, so "first" stays first.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

from arq.cron import CronJob, cron
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import care_schemas
from app.core.care_models import Achievement, AnalysisCredit, CaretakerBackfill
from app.core.models import CommitAnalysis, Entity, Repository
from app.entities import achievements, credit, decay_rules, rules
from app.entities.achievements import Kind, Step
from app.entities.credit import Credit
from app.entities.lifecycle import PetUpdate
from app.entities.streaks import day_number
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import care_context, ordering
from app.jobs.repo_config import RepoConfig

log = logging.getLogger(__name__)

BACKFILL_BATCH: Final = 200  # analyses credited per transaction (the apply lock is held)
BACKFILL_REPOSITORIES: Final = 20  # repositories per cron run


def person_model(person: credit.Person) -> care_schemas.Person:
    """The API's view of a person."""
    return care_schemas.Person(key=person.key, name=person.name, login=person.login, bot=person.bot)


def achievement_event(
    grant: Achievement, kind: Kind, repository: str, person: credit.Person
) -> dict[str, Any]:
    """The `achievement` WebSocket message for one grant."""
    return care_schemas.AchievementEvent(
        entity_id=grant.entity_id or 0,
        repository_id=grant.repository_id,
        repository=repository,
        code=kind.code,
        emoji=kind.emoji,
        title=kind.title,
        description=kind.description,
        person=person_model(person),
        commit_sha=grant.sha,
        message=f"{person.name} earned {kind.emoji} {kind.title} on {repository}",
        timestamp=grant.earned_at.isoformat(),
    ).json_dict()


def credit_row(row: CommitAnalysis, item: Credit, step: Step) -> AnalysisCredit:
    """One person's `analysis_credits` row for a commit."""
    who = item.person
    return AnalysisCredit(
        analysis_id=row.id,
        repository_id=row.repository_id,
        entity_id=row.entity_id,
        person_key=who.key,
        login=who.login,
        name=who.name,
        email_hash=who.email_hash,
        role=item.role,
        points=item.points,
        delta=step.delta,
        lint_clean=step.lint_clean,
        complexity=step.complexity,
        committed_at=step.at,
        day=day_number(step.at),
    )


async def credits_of(session: AsyncSession, row: CommitAnalysis) -> list[Credit]:
    """Everyone the commit credits, each unlinked person who is a known account resolved."""
    found = credit.credits(
        row.author_name, row.author_email, row.author_login, row.message or "", row.health_delta
    )
    return credit.resolve(found, await care_context.known_people(session, row.repository_id, found))


async def credit_and_grant(
    session: AsyncSession, row: CommitAnalysis, pet: Entity, step: Step, now: datetime
) -> list[tuple[Achievement, Kind, credit.Person]]:
    """Credit one applied commit and grant what it earned (nothing is committed here)."""
    found = await credits_of(session, row)
    pet_past = await care_context.pet_past(session, row, pet, now, step.at)
    owned = await care_context.granted(session, row.repository_id, [c.person.key for c in found])
    grants: list[tuple[Achievement, Kind, credit.Person]] = []
    for item in found:
        key = item.person.key
        past = await care_context.person_past(session, row.repository_id, key, step.at, row.id)
        for kind in achievements.earned(step, past, pet_past, owned[key]):
            grants.append((grant_row(row, item.person, kind, step), kind, item.person))
    session.add_all([credit_row(row, item, step) for item in found])
    session.add_all([grant for grant, _, _ in grants])
    await session.flush()
    return grants


def grant_row(row: CommitAnalysis, who: credit.Person, kind: Kind, step: Step) -> Achievement:
    """The achievement row pointing at the commit that earned it."""
    return Achievement(
        repository_id=row.repository_id,
        entity_id=row.entity_id,
        analysis_id=row.id,
        person_key=who.key,
        login=who.login,
        name=who.name,
        code=kind.code,
        sha=row.sha,
        earned_at=step.at,
    )


async def waits_for_backfill(session: AsyncSession, repository_id: int) -> bool:
    """Older analyses of this repository are not credited yet: the backfill goes first."""
    found = await session.scalar(
        select(exists().where(CaretakerBackfill.repository_id == repository_id))
    )
    return bool(found)


async def credit_commit(
    session: AsyncSession,
    row: CommitAnalysis,
    update: PetUpdate,
    config: RepoConfig,
    full_name: str,
) -> list[dict[str, Any]]:
    """In `apply_once`'s transaction, after the pet took the commit: credits, grants, and the
    `achievement` events to publish after commit (none while `caretakers: off`)."""
    if await waits_for_backfill(session, row.repository_id):
        return []
    now = row.processed_at or datetime.now(UTC)
    # The pet as the commit met it: decay and a due death settled (what `record_commit` did).
    met = decay_rules.settle(update.before, update.after.last_commit_at or now)
    step = care_context.step_of(row, met.status, update.after)
    grants = await credit_and_grant(session, row, update.entity, step, now)
    if not config.caretakers:
        return []
    return [achievement_event(grant, kind, full_name, who) for grant, kind, who in grants]


# --- the backfill of analyses older than credits ----------------------------------------------


async def _uncredited(session: AsyncSession, repository_id: int) -> list[CommitAnalysis]:
    """The next analyses without credits, in the order they were applied."""
    credited = exists().where(AnalysisCredit.analysis_id == CommitAnalysis.id)
    rows = await session.scalars(
        select(CommitAnalysis)
        .where(CommitAnalysis.repository_id == repository_id, ~credited)
        .order_by(CommitAnalysis.id)
        .limit(BACKFILL_BATCH)
    )
    return list(rows)


async def _backfill_batch(session: AsyncSession, repository_id: int) -> int:
    """Credit one batch of a repository's old analyses; 0 when none are left."""
    rows = await _uncredited(session, repository_id)
    previous: dict[int | None, str] = {}
    for row in rows:
        pet = await session.get(Entity, row.entity_id) if row.entity_id else None
        step = care_context.step_of(row, previous.get(row.entity_id, rules.ALIVE))
        previous[row.entity_id] = step.status_after
        if pet is None:  # its pet is gone: the people still get their credit, nothing more
            session.add_all(
                [credit_row(row, item, step) for item in await credits_of(session, row)]
            )
            await session.flush()
        else:
            await credit_and_grant(session, row, pet, step, row.processed_at)
    return len(rows)


async def backfill_repository(ctx: JobContext, repository_id: int) -> int:
    """Credit every old analysis of one repository, batch by batch, then leave the queue."""
    total = 0
    while True:
        async with ctx.sessionmaker.begin() as session:
            await ordering.lock_repository(session, repository_id)
            done = await _backfill_batch(session, repository_id)
            total += done
            if done < BACKFILL_BATCH:
                await session.execute(
                    delete(CaretakerBackfill).where(
                        CaretakerBackfill.repository_id == repository_id
                    )
                )
                return total


async def backfill_caretakers(ctx: JobContext) -> dict[str, int]:
    """Cron: credit the analyses of repositories that predate credits (silently, in order)."""
    async with ctx.sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(CaretakerBackfill.repository_id)
                .join(Repository, Repository.id == CaretakerBackfill.repository_id)
                .order_by(CaretakerBackfill.created_at)
                .limit(BACKFILL_REPOSITORIES)
            )
        )
    credited = 0
    for repository_id in ids:
        credited += await backfill_repository(ctx, repository_id)
    if ids:
        log.info("caretakers: credited %d old analyses of %d repositories", credited, len(ids))
    return {"repositories": len(ids), "analyses": credited}


def cron_jobs() -> list[CronJob]:
    """The backfill hourly at minute 37 (and at start-up), until no repository is left."""
    job = registry.as_arq(backfill_caretakers)
    return [
        cron(job, name=registry.CARETAKER_BACKFILL, minute=37, second=0, unique=True,
             timeout=1800, run_at_startup=True),
    ]  # fmt: skip


__all__ = [
    "achievement_event",
    "backfill_caretakers",
    "backfill_repository",
    "credit_and_grant",
    "credit_commit",
    "cron_jobs",
    "person_model",
]
