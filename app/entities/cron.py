"""One run of the hourly decay and death rules: the SQL twin of the rules, executed.

The statements are in `decay_sql.py`; this module runs them in order (wake, decay, death) and
turns the few rows that changed into `Change`s for events and pictures.

Safe to repeat: a second run at the same time finds nothing owed, because the checkpoint moved.
Safe to run concurrently: on PostgreSQL each id range takes a transaction-scoped advisory lock
(a concurrent run waits, then finds nothing owed), and every UPDATE re-checks the columns it
read, so a pet changed by a commit meanwhile is left for the next run instead of being charged
twice; on SQLite the first statement takes the single write lock. On PostgreSQL the id space is
split into a fixed number of ranges decayed in parallel transactions, so a run uses both cores
and its round trips never depend on the number of pets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.entities import rules
from app.entities.decay_sql import (
    PG_DEATH,
    PG_DECAY,
    PG_ID_BOUNDS,
    PG_PREPARE,
    PG_WAKE,
    RESULT_TYPES,
    SQLITE_CHANGES,
    SQLITE_DEATH_HISTORY,
    SQLITE_DEATH_UPDATE,
    SQLITE_DECAY_HISTORY,
    SQLITE_DECAY_UPDATE,
    SQLITE_HUNGRY,
    SQLITE_WAKE_UPDATE,
    clause,
    pg_params,
    sqlite_params,
)

MIN_ID: Final = -(2**63)
MAX_ID: Final = 2**63 - 1
# Independent id ranges decayed in parallel transactions (one connection each): a fixed number,
# so round trips do not grow with the number of pets.
PG_PARTITIONS: Final = 4


@dataclass(frozen=True, slots=True)
class Change:
    """A pet whose status or health state changed, or whose health hit zero, in this run."""

    entity_id: int
    repository_id: int
    name: str
    species: str
    subspecies: str | None
    old_health: int
    health: int
    old_status: str
    status: str
    metadata: dict[str, Any]
    old_asleep: bool = False
    asleep: bool = False
    hungry: bool = False

    @property
    def status_changed(self) -> bool:
        """alive → dying, or → dead."""
        return self.old_status != self.status

    @property
    def old_visual(self) -> str:
        """The picture shown before."""
        return _visual(self.old_status, self.old_asleep, self.old_health)

    @property
    def visual(self) -> str:
        """The picture to show now."""
        return _visual(self.status, self.asleep, self.health)


def _visual(status: str, asleep: bool, health: int) -> str:
    """`rules.visual_state` from a change's columns."""
    if status == rules.DEAD:
        return rules.DEAD_VISUAL
    return rules.SLEEPING_VISUAL if asleep else rules.health_state(health)


@dataclass(slots=True)
class CronResult:
    """How many pets each rule touched, and the changes that need events."""

    decayed: int = 0
    died: int = 0
    changes: list[Change] = field(default_factory=list)


def _change(row: Any) -> Change:
    """A result row as a Change."""
    return Change(
        entity_id=row.id,
        repository_id=row.repository_id,
        name=row.name,
        species=row.species,
        subspecies=row.subspecies,
        old_health=row.old_health,
        health=row.health,
        old_status=row.old_status,
        status=row.status,
        metadata=row.metadata or {},
        old_asleep=bool(row.old_asleep),
        asleep=bool(row.asleep),
        hungry=bool(row.hungry),
    )


async def _pg_rule(
    conn: AsyncConnection, sql: str, params: dict[str, Any]
) -> tuple[int, list[Change]]:
    """Run one rule statement; returns (pets touched, changes)."""
    typed = clause(sql).columns(total=Integer, **RESULT_TYPES)
    rows = (await conn.execute(typed, params)).all()
    total = rows[0].total if rows else 0
    return total, [_change(r) for r in rows if r.id is not None]


async def _pg_run(
    conn: AsyncConnection, now: datetime, lo: int, hi: int, part: int = 0
) -> CronResult:
    """Decay, then death, for pets with ids in [lo, hi], in the caller's transaction."""
    params = pg_params(now, lo, hi, part)
    await conn.execute(text(PG_PREPARE), params)
    _, woken = await _pg_rule(conn, PG_WAKE, params)
    decayed, changes = await _pg_rule(conn, PG_DECAY, params)
    died, deaths = await _pg_rule(conn, PG_DEATH, params)
    return CronResult(decayed, died, _merge(woken, changes, deaths))


def id_ranges(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """Split [low, high] into at most `parts` contiguous, non-empty ranges."""
    size = max(1, -(-(high - low + 1) // parts))
    return [(start, min(start + size - 1, high)) for start in range(low, high + 1, size)]


def _merge(*groups: list[Change]) -> list[Change]:
    """One change per pet: a pet that woke, decayed and died in one run reports them as one,
    with the state before the first and after the last (and hungry if any step was)."""
    merged: dict[int, Change] = {}
    for group in groups:
        for change in group:
            first = merged.get(change.entity_id)
            if first is not None:
                change = replace(
                    change,
                    old_health=first.old_health,
                    old_status=first.old_status,
                    old_asleep=first.old_asleep,
                    hungry=first.hungry or change.hungry,
                )
            merged[change.entity_id] = change
    return list(merged.values())


async def _sqlite_rule(
    conn: AsyncConnection,
    history_sql: str,
    update_sql: str,
    now: datetime,
    hungry_sql: str | None = None,
) -> tuple[int, list[Change]]:
    """History insert, the hungry pets (read before the update moves their checkpoint),
    update, then read the changes back."""
    params = sqlite_params(now)
    inserted = await conn.execute(clause(history_sql), params)
    count, last = inserted.rowcount, inserted.lastrowid
    if not count:
        return 0, []
    hungry: set[int] = set()
    if hungry_sql is not None:
        hungry = set((await conn.execute(clause(hungry_sql), params)).scalars())
    await conn.execute(clause(update_sql), params)
    query = (
        text(SQLITE_CHANGES).bindparams(bindparam("hungry", expanding=True)).columns(**RESULT_TYPES)
    )
    bounds = {"first_after": last - count, "last": last, "hungry": sorted(hungry)}
    rows = (await conn.execute(query, bounds)).all()
    return count, [replace(_change(r), hungry=r.id in hungry) for r in rows]


async def _sqlite_run(conn: AsyncConnection, now: datetime) -> CronResult:
    """Wake (its UPDATE takes the write lock), decay, then death, in the caller's transaction."""
    wake = clause(SQLITE_WAKE_UPDATE).columns(**RESULT_TYPES)
    rows = (await conn.execute(wake, sqlite_params(now))).all()
    woken = [_change(r) for r in rows]
    decayed, changes = await _sqlite_rule(
        conn, SQLITE_DECAY_HISTORY, SQLITE_DECAY_UPDATE, now, SQLITE_HUNGRY
    )
    died, deaths = await _sqlite_rule(conn, SQLITE_DEATH_HISTORY, SQLITE_DEATH_UPDATE, now)
    return CronResult(decayed, died, _merge(woken, changes, deaths))


async def apply_rules(conn: AsyncConnection, now: datetime) -> CronResult:
    """Decay and death for every eligible pet, inside the caller's one transaction."""
    if conn.dialect.name == "postgresql":
        return await _pg_run(conn, now, MIN_ID, MAX_ID)
    if conn.dialect.name == "sqlite":
        return await _sqlite_run(conn, now)
    raise NotImplementedError(f"no decay SQL for {conn.dialect.name}")


async def _partition(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, lo: int, hi: int, part: int
) -> CronResult:
    """One id range in its own transaction."""
    async with sessionmaker() as session, session.begin():
        return await _pg_run(await session.connection(), now, lo, hi, part)


async def run_cron(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    partitions: int = PG_PARTITIONS,
) -> CronResult:
    """One run of the rules, as the hourly job does it.

    On PostgreSQL the id space is split into `partitions` ranges decayed concurrently, each in
    its own transaction (a pet's change and its history row always commit together; a run cut
    short is finished by the next one). On SQLite, one transaction.
    """
    async with sessionmaker() as session:
        conn = await session.connection()
        if conn.dialect.name != "postgresql" or partitions <= 1:
            result = await apply_rules(conn, now)
            await session.commit()
            return result
        low, high = (await conn.execute(text(PG_ID_BOUNDS))).one()
        await session.rollback()
    if low is None:
        return CronResult()
    ranges = id_ranges(low, high, partitions)
    results = await asyncio.gather(
        *(_partition(sessionmaker, now, lo, hi, k) for k, (lo, hi) in enumerate(ranges))
    )
    return CronResult(
        decayed=sum(r.decayed for r in results),
        died=sum(r.died for r in results),
        changes=[c for r in results for c in r.changes],
    )
