"""Who keeps a pet alive: the caretakers read model shared by the API, the pet page and digests.

Everything is computed from `analysis_credits` (one row per person per analysed commit) and
`achievements` when asked, through indexes: per period, the health each person added and took
away, their commits, their best commit with its reasons, and their streak; the pet's own
streak; the achievements granted. A pet of a repository follows every generation, as the pet
page does. Whether they may be shown (`caretakers: off`, private repositories) is the
callers' decision; `shown` reads the stored config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import care_schemas, schemas
from app.core.care_models import Achievement, AnalysisCredit
from app.core.models import CommitAnalysis
from app.core.times import iso
from app.entities import achievements, streaks
from app.entities.credit import Person

CONFIG_KEY: Final = "caretakers"  # `.github/tamagitto.yml`: `caretakers: off` hides them
MAX_CARETAKERS: Final = 20
MAX_ACHIEVEMENTS: Final = 100
MAX_MESSAGE: Final = 200
C = AnalysisCredit


def shown(config: Mapping[str, Any] | None) -> bool:
    """Does the repository's stored config show caretakers (the default)?"""
    return bool((config or {}).get(CONFIG_KEY, True))


def _where(repository_id: int, since: datetime | None) -> ColumnElement[bool]:
    """One repository's credits, since a moment or over all time."""
    condition = C.repository_id == repository_id
    return condition if since is None else condition & (C.committed_at >= since)


async def _totals(
    session: AsyncSession, repository_id: int, since: datetime | None
) -> tuple[list[Any], int, int]:
    """The top people by net health (rows), and the period's commits and people."""
    added = func.sum(case((C.points > 0, C.points), else_=0))
    taken = func.sum(case((C.points < 0, -C.points), else_=0))
    query = (
        select(
            C.person_key,
            func.count().label("commits"),
            added.label("added"),
            taken.label("taken"),
            func.max(C.committed_at).label("last_at"),
        )
        .where(_where(repository_id, since))
        .group_by(C.person_key)
        .order_by((added - taken).desc(), func.count().desc(), C.person_key)
    )
    rows = list((await session.execute(query)).all())
    commits = await session.scalar(
        select(func.count(func.distinct(C.analysis_id))).where(_where(repository_id, since))
    )
    return rows[:MAX_CARETAKERS], int(commits or 0), len(rows)


async def _best(
    session: AsyncSession, repository_id: int, key: str, since: datetime | None
) -> AnalysisCredit | None:
    """A person's credit with the most points in the period (the earliest of equals)."""
    return await session.scalar(
        select(C)
        .where(_where(repository_id, since), C.person_key == key)
        .order_by(C.points.desc(), C.committed_at, C.id)
        .limit(1)
    )


async def _days(
    session: AsyncSession, repository_id: int, keys: Sequence[str] | None
) -> dict[str | None, set[int]]:
    """Days with a commit that did not lower health, per person (or for the pet: key None)."""
    good = (C.repository_id == repository_id) & (C.delta >= 0)
    if keys is None:
        pet = await session.scalars(select(C.day).where(good).distinct())
        return {None: set(pet)}
    found: dict[str | None, set[int]] = {key: set() for key in keys}
    pairs = await session.execute(
        select(C.person_key, C.day).where(good, C.person_key.in_(list(keys))).distinct()
    )
    for key, day in pairs.all():
        found[key].add(day)
    return found


def streak_model(days: set[int], today: int) -> care_schemas.Streak:
    """The API's streak from the good days."""
    found = streaks.streak(days, today)
    last = streaks.day_date(found.last_day).isoformat() if found.last_day is not None else None
    return care_schemas.Streak(current=found.current, best=found.best, last_day=last)


def person_of(row: AnalysisCredit | Achievement) -> care_schemas.Person:
    """The person a credit or grant names, as the API shows them."""
    who = Person(row.person_key, row.name, row.login)
    return care_schemas.Person(key=who.key, name=who.name, login=who.login, bot=who.bot)


def best_model(credit: AnalysisCredit, analysis: CommitAnalysis | None) -> care_schemas.BestCommit:
    """A best commit with its reasons (an analysis deleted since shows without them)."""
    message = (analysis.message or "").splitlines()[0][:MAX_MESSAGE] if analysis else ""
    reasons = [schemas.Reason.model_validate(r) for r in (analysis.reasons if analysis else [])]
    return care_schemas.BestCommit(
        sha=analysis.sha if analysis else "",
        message=message,
        points=credit.points,
        delta=credit.delta,
        committed_at=iso(credit.committed_at),
        reasons=reasons,
    )


async def period(
    session: AsyncSession,
    repository_id: int,
    since: datetime | None,
    today: int,
    days: dict[str | None, set[int]] | None = None,
) -> care_schemas.CaretakerPeriod:
    """The caretakers of one period (all time when `since` is None), best first. `days` keeps
    the good days already read (a person's streak is the same in every period)."""
    rows, commits, people = await _totals(session, repository_id, since)
    keys = [row.person_key for row in rows]
    days = {} if days is None else days
    missing = [key for key in keys if key not in days]
    if missing:
        days.update(await _days(session, repository_id, missing))
    bests = {key: await _best(session, repository_id, key, since) for key in keys}
    ids = [b.analysis_id for b in bests.values() if b is not None]
    analyses = {
        a.id: a
        for a in await session.scalars(select(CommitAnalysis).where(CommitAnalysis.id.in_(ids)))
    }
    found = []
    for row in rows:
        best = bests[row.person_key]
        if best is None:
            continue
        found.append(
            care_schemas.Caretaker(
                person=person_of(best),
                added=int(row.added or 0),
                taken_away=int(row.taken or 0),
                net=int(row.added or 0) - int(row.taken or 0),
                commits=int(row.commits),
                last_commit_at=iso(row.last_at),
                best_commit=best_model(best, analyses.get(best.analysis_id)),
                streak=streak_model(days[row.person_key], today),
            )
        )
    return care_schemas.CaretakerPeriod(
        since=iso(since), caretakers=found, commits=commits, people=people
    )


async def earned(session: AsyncSession, repository_id: int) -> list[care_schemas.EarnedAchievement]:
    """The achievements granted on a repository, newest first."""
    rows = await session.scalars(
        select(Achievement)
        .where(Achievement.repository_id == repository_id)
        .order_by(Achievement.earned_at.desc(), Achievement.id.desc())
        .limit(MAX_ACHIEVEMENTS)
    )
    found = []
    for row in rows:
        kind = achievements.BY_CODE.get(row.code)
        if kind is None:  # retired since it was granted
            continue
        found.append(
            care_schemas.EarnedAchievement(
                code=kind.code,
                emoji=kind.emoji,
                title=kind.title,
                description=kind.description,
                person=person_of(row),
                commit_sha=row.sha,
                earned_at=iso(row.earned_at) or "",
            )
        )
    return found


async def caretakers(
    session: AsyncSession,
    entity_id: int,
    repository_id: int,
    config: Mapping[str, Any] | None,
    days: int,
    now: datetime,
) -> care_schemas.Caretakers:
    """The whole document: the period, all time, the pet's streak and the achievements; only
    the ids and `enabled: false` when `caretakers: off` hides them."""
    if not shown(config):
        return care_schemas.Caretakers(
            entity_id=entity_id, repository_id=repository_id, enabled=False, days=days
        )
    today = streaks.day_number(now)
    good = await _days(session, repository_id, None)
    recent = await period(session, repository_id, now - timedelta(days=days), today, good)
    return care_schemas.Caretakers(
        entity_id=entity_id,
        repository_id=repository_id,
        enabled=True,
        days=days,
        period=recent,
        all_time=await period(session, repository_id, None, today, good),
        streak=streak_model(good[None], today),
        achievements=await earned(session, repository_id),
    )


__all__ = [
    "CONFIG_KEY",
    "MAX_CARETAKERS",
    "caretakers",
    "earned",
    "period",
    "person_of",
    "shown",
    "streak_model",
]
