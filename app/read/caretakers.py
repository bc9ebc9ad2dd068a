"""Who keeps a pet alive: the caretakers read model shared by the API, the pet page and digests.

Everything is computed from `analysis_credits` (one row per person per analysed commit) and
`achievements` when asked. One aggregate reads a repository's credits once, grouped by person
and UTC day, through the covering index on (repository, person, time); each period's totals,
every person's good days and the pet's own (a day is the pet's when any credited commit of it
kept health) are summed from those groups, and a period is whole UTC days, the last of them
today. Then, for the people shown, one indexed look-up per period finds their best commit. A pet
of a repository follows every generation, as the pet page does. Whether they may be shown
(`caretakers: off`, private repositories) is the callers' decision; `shown` reads the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, Final

from sqlalchemy import ColumnElement, case, func, literal, null, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import care_schemas, schemas
from app.core.care_models import Achievement, AnalysisCredit
from app.core.models import CommitAnalysis
from app.core.times import iso
from app.entities import achievements, streaks
from app.entities.credit import AUTHOR, Person

CONFIG_KEY: Final = "caretakers"  # `.github/tamagitto.yml`: `caretakers: off` hides them
MAX_CARETAKERS: Final = 20
MAX_ACHIEVEMENTS: Final = 100
MAX_MESSAGE: Final = 200
C = AnalysisCredit


def shown(config: Mapping[str, Any] | None) -> bool:
    """Does the repository's stored config show caretakers (the default)?"""
    return bool((config or {}).get(CONFIG_KEY, True))


@dataclass
class Sum:
    """One person's sums over a period."""

    key: str
    added: int = 0
    taken: int = 0
    commits: int = 0
    last_day: int = 0


@dataclass
class Tally:
    """A repository's credits summed once: all time, a recent period, and runs of good days
    (a day with a commit that did not lower health) per person and for the pet (key None)."""

    all_time: dict[str, Sum] = field(default_factory=dict)
    recent: dict[str, Sum] = field(default_factory=dict)
    commits: int = 0
    recent_commits: int = 0
    runs: dict[str | None, list[tuple[int, int]]] = field(default_factory=lambda: {None: []})

    def ranked(self, recent: bool) -> list[Sum]:
        """The period's people, most health added net first."""
        found = (self.recent if recent else self.all_time).values()
        return sorted(found, key=lambda s: (s.taken - s.added, -s.commits, s.key))

    def streak(self, key: str | None, today: int) -> streaks.Streak:
        """A person's streak, or the pet's."""
        return streaks.streak_of_runs(self.runs.get(key, []), today)


def _days(repository_id: int) -> Any:
    """Each person's credits by UTC day (one pass over the repository's credits)."""
    return (
        select(
            C.person_key.label("key"),
            C.day.label("day"),
            func.sum(case((C.points > 0, C.points), else_=0)).label("added"),
            func.sum(case((C.points < 0, -C.points), else_=0)).label("taken"),
            func.count().label("commits"),
            func.sum(case((C.role == AUTHOR, 1), else_=0)).label("authored"),
            func.max(C.delta).label("top"),
        )
        .where(C.repository_id == repository_id)
        .group_by(C.person_key, C.day)
        .cte("days")
    )


def _totals(days: Any, kind: str, where: Any) -> Any:
    """Per person: added, taken away, commits, authored commits, last day."""
    return (
        select(
            literal(kind).label("kind"),
            days.c.key,
            func.sum(days.c.added),
            func.sum(days.c.taken),
            func.sum(days.c.commits),
            func.sum(days.c.authored),
            func.max(days.c.day),
        )
        .where(where)
        .group_by(days.c.key)
    )


def _runs(days: Any, kind: str, key: Any, by_person: bool) -> Any:
    """Runs of consecutive good days (first, last): gaps and islands, per person or for all."""
    kept = select(key.label("key"), days.c.day).where(days.c.top >= 0)
    good = (kept if by_person else kept.distinct()).subquery()  # (key, day) is unique already
    rank = func.row_number().over(
        partition_by=good.c.key if by_person else None, order_by=good.c.day
    )
    island = select(good.c.key, good.c.day, (good.c.day - rank).label("island")).subquery()
    zero = literal(0)
    columns = (func.min(island.c.day), func.max(island.c.day), zero, zero, zero)
    return select(literal(kind), island.c.key, *columns).group_by(island.c.key, island.c.island)


async def tally(session: AsyncSession, repository_id: int, first_day: int) -> Tally:
    """All time, the days from `first_day` on, and the runs of good days: one statement whose
    answer is a row per person and period and a row per run."""
    days = _days(repository_id)
    query = union_all(
        _totals(days, "all", true()),
        _totals(days, "recent", days.c.day >= first_day),
        _runs(days, "run", days.c.key, True),
        _runs(days, "pet", null(), False),
    )
    found = Tally()
    for kind, key, a, b, commits, authored, last in (await session.execute(query)).tuples():
        if kind in ("all", "recent"):
            sums = found.all_time if kind == "all" else found.recent
            sums[key] = Sum(key, int(a), int(b), int(commits), int(last))
            if kind == "all":
                found.commits += int(authored)
            else:
                found.recent_commits += int(authored)
        else:
            found.runs.setdefault(key if kind == "run" else None, []).append((int(a), int(b)))
    return found


@dataclass(frozen=True, slots=True)
class Pick:
    """One credit picked for a person: their best of a period, or their last."""

    analysis_id: int
    key: str
    name: str
    login: str | None
    points: int
    delta: int
    committed_at: datetime


PICK_COLUMNS = (C.analysis_id, C.person_key, C.name, C.login, C.points, C.delta, C.committed_at)


def _pick(repository_id: int, kind: str, key: str, since: datetime | None, last: bool) -> Any:
    """One person's best credit of a period (latest of equals), or their last: one step down
    the (repository, person, points, time) or (repository, person, time) index."""
    where: ColumnElement[bool] = (C.repository_id == repository_id) & (C.person_key == key)
    if since is not None:
        where = where & (C.committed_at >= since)
    latest = (C.day.desc(), C.committed_at.desc())
    order = latest if last else (C.points.desc(), C.committed_at.desc())
    one = select(literal(kind).label("kind"), *PICK_COLUMNS).where(where).order_by(*order)
    picked = one.limit(1).subquery()
    return select(picked)


async def picks(
    session: AsyncSession,
    repository_id: int,
    recent: list[str],
    everyone: list[str],
    since: datetime,
) -> dict[tuple[str, str], Pick]:
    """Best credits of the recent period and of all time, and last credits, keyed by
    (kind, person): one statement of index look-ups, however many people are shown."""
    parts = [_pick(repository_id, "recent", k, since, False) for k in recent]
    parts += [_pick(repository_id, "all", k, None, False) for k in everyone]
    parts += [_pick(repository_id, "last", k, None, True) for k in dict.fromkeys(everyone + recent)]
    if not parts:
        return {}
    rows = (await session.execute(union_all(*parts))).tuples().all()
    return {(kind, row[1]): Pick(*row) for kind, *row in rows}


def streak_model(found: streaks.Streak) -> care_schemas.Streak:
    """The API's streak."""
    last = streaks.day_date(found.last_day).isoformat() if found.last_day is not None else None
    return care_schemas.Streak(current=found.current, best=found.best, last_day=last)


def person_of(row: Pick | Achievement) -> care_schemas.Person:
    """The person a credit or grant names, as the API shows them."""
    who = Person(row.key if isinstance(row, Pick) else row.person_key, row.name, row.login)
    return care_schemas.Person(key=who.key, name=who.name, login=who.login, bot=who.bot)


def best_model(credit: Pick, analysis: CommitAnalysis | None) -> care_schemas.BestCommit:
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


def period(
    summed: Tally,
    found: dict[tuple[str, str], Pick],
    analyses: Mapping[int, CommitAnalysis],
    first_day: int | None,
    today: int,
) -> care_schemas.CaretakerPeriod:
    """The caretakers of the days from `first_day` (all time when None), best first."""
    ranked = summed.ranked(recent=first_day is not None)
    kind = "all" if first_day is None else "recent"
    people = []
    for total in ranked[:MAX_CARETAKERS]:
        best, last = found.get((kind, total.key)), found.get(("last", total.key))
        if best is None:
            continue
        people.append(
            care_schemas.Caretaker(
                person=person_of(last or best),
                added=total.added,
                taken_away=total.taken,
                net=total.added - total.taken,
                commits=total.commits,
                last_commit_at=iso(last.committed_at) if last else None,
                best_commit=best_model(best, analyses.get(best.analysis_id)),
                streak=streak_model(summed.streak(total.key, today)),
            )
        )
    commits = summed.commits if first_day is None else summed.recent_commits
    since = None if first_day is None else day_start(first_day)
    return care_schemas.CaretakerPeriod(
        since=iso(since), caretakers=people, commits=commits, people=len(ranked)
    )


async def periods(
    session: AsyncSession, repository_id: int, summed: Tally, first_day: int, today: int
) -> tuple[care_schemas.CaretakerPeriod, care_schemas.CaretakerPeriod]:
    """The recent period and all time, with their people's best and last commits."""
    recent = [s.key for s in summed.ranked(recent=True)[:MAX_CARETAKERS]]
    everyone = [s.key for s in summed.ranked(recent=False)[:MAX_CARETAKERS]]
    found = await picks(session, repository_id, recent, everyone, day_start(first_day))
    ids = sorted({p.analysis_id for p in found.values()})
    analyses = {
        a.id: a
        for a in await session.scalars(select(CommitAnalysis).where(CommitAnalysis.id.in_(ids)))
    }
    return (
        period(summed, found, analyses, first_day, today),
        period(summed, found, analyses, None, today),
    )


def day_start(day: int) -> datetime:
    """Midnight UTC at the start of a day number."""
    return datetime.combine(streaks.day_date(day), time(), tzinfo=UTC)


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
    """The whole document: the last `days` days (today the last of them), all time, the pet's
    streak and the achievements; only the ids and `enabled: false` with `caretakers: off`."""
    if not shown(config):
        return care_schemas.Caretakers(
            entity_id=entity_id, repository_id=repository_id, enabled=False, days=days
        )
    today = streaks.day_number(now)
    first = today - days + 1
    summed = await tally(session, repository_id, first)
    recent, everything = await periods(session, repository_id, summed, first, today)
    return care_schemas.Caretakers(
        entity_id=entity_id,
        repository_id=repository_id,
        enabled=True,
        days=days,
        period=recent,
        all_time=everything,
        streak=streak_model(summed.streak(None, today)),
        achievements=await earned(session, repository_id),
    )


__all__ = [
    "CONFIG_KEY",
    "MAX_CARETAKERS",
    "Tally",
    "caretakers",
    "day_start",
    "earned",
    "period",
    "periods",
    "person_of",
    "picks",
    "shown",
    "streak_model",
    "tally",
]
