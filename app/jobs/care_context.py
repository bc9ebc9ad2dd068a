"""What the achievement rules read of the past, from the database, in bounded windows.

The commit path (`app.jobs.caretaking`) runs inside the transaction that applies a commit,
under the repository's apply lock, so these queries see exactly the commits applied before
it. Each reads the rules' figures (the last `RECENT_COMMITS` commits, a month's complexity,
the good days of the `WINDOW`, `KEEPER_DAYS` of history, `SECRET_WITHIN` of secrets) with
indexed aggregates, so a pet with 100,000 analyses costs about what a new one does.
`app.entities.ledger` keeps the same figures in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analysis.scoring import reverted_sha
from app.core.care_models import Achievement, AnalysisCredit
from app.core.models import CommitAnalysis, Entity, HealthHistory
from app.entities import achievements, rules
from app.entities.achievements import Mark, Past, PetPast, Step
from app.entities.credit import Credit, Person, aliases
from app.entities.streaks import day_number

# Secrets committed up to this long before (by arrival) are looked at; the rule keeps a day.
SECRET_LOOKBACK = achievements.SECRET_WITHIN * 2
REVERT_DETAIL = re.compile(r"^reverts ([0-9a-f]{7,40})\b")


async def person_past(
    session: AsyncSession, repository_id: int, key: str, at: datetime, analysis_id: int
) -> Past:
    """A person's credited commits before `at`: counted (up to the cap), first, and recent."""
    mine = (
        (AnalysisCredit.repository_id == repository_id)
        & (AnalysisCredit.person_key == key)
        & (AnalysisCredit.analysis_id != analysis_id)
    )
    # `day` leads `committed_at` in the index and follows it, so each window is an index range.
    earlier = mine & (AnalysisCredit.day <= day_number(at)) & (AnalysisCredit.committed_at <= at)
    commits, first_at, month = await _figures(session, mine, earlier, at)
    if commits == 0:
        return Past()
    return Past(
        commits,
        first_at,
        await _last_marks(session, earlier),
        month,
        await _good_days(session, earlier, at),
    )


async def _figures(
    session: AsyncSession, mine: ColumnElement[bool], earlier: ColumnElement[bool], at: datetime
) -> tuple[int, datetime | None, int]:
    """(commits up to the cap, the first one's time, the month's complexity) in one statement."""
    C = AnalysisCredit
    capped = select(C.id).where(mine).limit(achievements.COUNT_CAP).subquery()
    start = at - achievements.MONTH
    month = select(func.sum(C.complexity)).where(
        earlier, C.day >= day_number(start), C.committed_at > start
    )
    row = (
        await session.execute(
            select(
                select(func.count()).select_from(capped).scalar_subquery(),
                select(func.min(C.committed_at)).where(mine).scalar_subquery(),
                month.scalar_subquery(),
            )
        )
    ).one()
    return int(row[0] or 0), row[1], int(row[2] or 0)


async def _last_marks(session: AsyncSession, earlier: ColumnElement[bool]) -> tuple[Mark, ...]:
    """The person's last `RECENT_COMMITS` commits, oldest first."""
    C = AnalysisCredit
    rows = await session.execute(
        select(C.committed_at, C.delta, C.lint_clean, C.complexity)
        .where(earlier)
        .order_by(C.day.desc(), C.committed_at.desc(), C.id.desc())
        .limit(achievements.RECENT_COMMITS)
    )
    return tuple(Mark(*row) for row in reversed(rows.all()))


async def _good_days(
    session: AsyncSession, earlier: ColumnElement[bool], at: datetime
) -> frozenset[int]:
    """Days of the window up to `at` on which the person made a commit that kept health."""
    C = AnalysisCredit
    first = day_number(at) - achievements.WINDOW_DAYS
    days = await session.scalars(
        select(C.day).where(earlier, C.delta >= 0, C.committed_at > at - achievements.WINDOW,
                            C.day >= first).distinct()
    )  # fmt: skip
    return frozenset(days)


async def granted(
    session: AsyncSession, repository_id: int, keys: Iterable[str]
) -> dict[str, set[str]]:
    """The achievements these people already have on this repository."""
    found: dict[str, set[str]] = {key: set() for key in keys}
    rows = await session.execute(
        select(Achievement.person_key, Achievement.code).where(
            Achievement.repository_id == repository_id, Achievement.person_key.in_(list(found))
        )
    )
    for key, code in rows.tuples():
        found[key].add(code)
    return found


async def known_people(
    session: AsyncSession, repository_id: int, credits: Iterable[Credit]
) -> dict[str, Person]:
    """Linked people who used the unlinked people's addresses before (see `credit.resolve`)."""
    found = list(credits)
    known = aliases(c.person for c in found)
    wanted = {
        c.person.email_hash
        for c in found
        if c.person.login is None and c.person.email_hash and c.person.email_hash not in known
    }
    if not wanted:
        return known
    rows = await session.execute(
        select(AnalysisCredit.email_hash, AnalysisCredit.login, AnalysisCredit.name)
        .where(
            AnalysisCredit.repository_id == repository_id,
            AnalysisCredit.email_hash.in_(sorted(wanted)),
            AnalysisCredit.login.is_not(None),
        )
        .order_by(AnalysisCredit.id.desc())
    )
    for email_hash, login, name in rows.all():
        if email_hash and login:
            linked = Person(f"gh:{login.lower()}", name or login, login, email_hash)
            known.setdefault(email_hash, linked)
    return known


async def thriving_since(
    session: AsyncSession, pet: Entity, now: datetime, analysis_id: int
) -> datetime | None:
    """Since when the pet has stayed thriving, as far back as `KEEPER_DAYS` looks (None: it is
    not thriving right before this commit). The commit's own history row does not count."""
    start = now - achievements.KEEPER_DAYS
    others = (HealthHistory.entity_id == pet.id) & (
        HealthHistory.analysis_id.is_(None) | (HealthHistory.analysis_id != analysis_id)
    )
    latest = await session.scalar(
        select(HealthHistory.health_score).where(others).order_by(HealthHistory.id.desc()).limit(1)
    )
    if latest is not None and latest < rules.THRIVING_AT:
        return None
    low = await session.scalar(
        select(func.max(HealthHistory.recorded_at)).where(
            others,
            HealthHistory.recorded_at >= start,
            HealthHistory.health_score < rules.THRIVING_AT,
        )
    )
    if low is not None:
        return max(low, pet.born_at)
    before = await session.scalar(
        select(HealthHistory.health_score)
        .where(others, HealthHistory.recorded_at < start)
        .order_by(HealthHistory.recorded_at.desc(), HealthHistory.id.desc())
        .limit(1)
    )
    if before is not None and before < rules.THRIVING_AT:  # it recovered inside the window
        return await session.scalar(
            select(func.min(HealthHistory.recorded_at)).where(
                others, HealthHistory.recorded_at >= start
            )
        )
    return max(start, pet.born_at)


async def last_death(session: AsyncSession, pet: Entity) -> datetime | None:
    """When the generation before this pet died (None: the first, or a reset of a living one)."""
    if pet.generation <= 1:
        return None
    return await session.scalar(
        select(Entity.died_at).where(
            Entity.repository_id == pet.repository_id, Entity.generation == pet.generation - 1
        )
    )


def _reasons(row: CommitAnalysis) -> tuple[tuple[str, int], ...]:
    """(code, points) of a stored score."""
    return tuple((str(r.get("code")), int(r.get("points") or 0)) for r in row.reasons or [])


def _section(row: CommitAnalysis, name: str) -> dict[str, Any]:
    """One section of the metrics document (empty for rows from older versions)."""
    found = (row.detail or {}).get(name)
    return found if isinstance(found, dict) else {}


def step_of(
    row: CommitAnalysis, before: str = rules.ALIVE, after: rules.PetState | None = None
) -> Step:
    """A stored analysis as the rules see it; `before` and `after` are the pet's around it."""
    secrets = _section(row, "security").get("secrets") or []
    pet_after = (row.detail or {}).get("pet_after") or {}
    return Step(
        sha=row.sha,
        at=row.committed_at or row.processed_at,
        delta=row.health_delta,
        reasons=_reasons(row),
        paths=tuple(str(p) for p in _section(row, "change").get("paths") or []),
        secret_paths=tuple(str(s.get("path")) for s in secrets if isinstance(s, dict)),
        reverts=reverted_sha(row.message or "") or _reverted_by_reason(row),
        status_before=before,
        status_after=after.status if after else str(pet_after.get("status", rules.ALIVE)),
        health_after=after.health if after else pet_after.get("health"),
    )


def _reverted_by_reason(row: CommitAnalysis) -> str | None:
    """A revert found by its inverse change names the reverted sha in its reason."""
    for reason in row.reasons or []:
        found = REVERT_DETAIL.match(str(reason.get("detail", "")))
        if reason.get("code") == "revert" and found:
            return found.group(1)
    return None


async def secrets_before(
    session: AsyncSession, row: CommitAnalysis, now: datetime
) -> tuple[Step, ...]:
    """Commits applied in the last `SECRET_LOOKBACK` that committed a real-looking secret."""
    found = await session.scalars(
        select(CommitAnalysis).where(
            CommitAnalysis.repository_id == row.repository_id,
            CommitAnalysis.id != row.id,
            CommitAnalysis.security_issues > 0,
            CommitAnalysis.processed_at >= now - SECRET_LOOKBACK,
        )
    )
    steps = (step_of(other) for other in found)
    return tuple(step for step in steps if step.secret)


async def pet_past(
    session: AsyncSession,
    row: CommitAnalysis,
    pet: Entity,
    now: datetime,
    at: datetime,
) -> PetPast:
    """The pet's life before this commit; the thriving time is moved onto the commits' clock
    (`at` is the commit's time, `now` when it reached the pet)."""
    earlier = await session.scalar(
        select(CommitAnalysis.id)
        .where(CommitAnalysis.entity_id == pet.id, CommitAnalysis.id != row.id)
        .limit(1)
    )
    since = await thriving_since(session, pet, now, row.id)
    return PetPast(
        generation=pet.generation,
        generation_commits=0 if earlier is None else 1,
        last_death=await last_death(session, pet),
        thriving_since=None if since is None else since + (at - now),
        secrets=await secrets_before(session, row, now),
    )


__all__ = [
    "SECRET_LOOKBACK",
    "granted",
    "known_people",
    "last_death",
    "person_past",
    "pet_past",
    "secrets_before",
    "step_of",
    "thriving_since",
]
