"""What a completed pull-request forecast leaves behind: its delta, and the author's grant.

A forecast never changes the pet's health (only the merge does), but the first forecast of a
person's pull request that raises health earns them `forecaster`, pointing at the head it
forecast, once per person and repository (the achievements' unique key), so a re-run of the
same forecast, or a later pull request, grants nothing more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.care_models import Achievement
from app.core.models import PullRequest
from app.entities import achievements, credit
from app.entities.lifecycle import current_pet
from app.infra.job_context import JobContext
from app.jobs.apply import Target
from app.jobs.care_context import granted
from app.jobs.caretaking import achievement_event
from app.jobs.repo_config import RepoConfig


async def store_delta(session: AsyncSession, pull_id: int, head: str, delta: int) -> None:
    """The head's forecast delta on its pull request (unless a newer head replaced it)."""
    await session.execute(
        update(PullRequest)
        .where(PullRequest.id == pull_id, PullRequest.head_sha == head)
        .values(forecast_delta=delta)
    )


async def grant(
    session: AsyncSession, target: Target, login: str, head: str, delta: int
) -> tuple[Achievement, credit.Person] | None:
    """The author's `forecaster` grant when this forecast earns it (nothing is committed)."""
    who = credit.person(None, None, login)
    owned = (await granted(session, target.id, [who.key]))[who.key]
    kind = achievements.forecast_earns(delta, owned)
    if kind is None:
        return None
    pet = await current_pet(session, target.id)
    row = Achievement(
        repository_id=target.id, entity_id=pet.id if pet else None, person_key=who.key,
        login=who.login, name=who.name, code=kind.code, sha=head, earned_at=datetime.now(UTC),
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent forecast granted it first
        return None
    return row, who


async def record(
    ctx: JobContext, target: Target, pull: PullRequest, head: str, delta: int, config: RepoConfig
) -> None:
    """Store the forecast's delta, grant what it earned, publish the `achievement` event."""
    async with ctx.sessionmaker.begin() as session:
        await store_delta(session, pull.id, head, delta)
        found = None
        if pull.author_login:
            found = await grant(session, target, pull.author_login, head, delta)
    if found is None or not config.caretakers:
        return
    row, who = found
    event: dict[str, Any] = achievement_event(
        row, achievements.BY_CODE[row.code], target.full_name, who
    )
    await ctx.bus.publish(event)


__all__ = ["grant", "record", "store_delta"]
