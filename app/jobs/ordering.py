"""The order a push's commits change the pet in: parent first, in both modes, whatever runs at once.

Analyses run side by side; applying them does not. Every commit queued for analysis first gets
a `pending_commits` row naming the commit that must be applied before it (`after_sha`: the
previous commit of the push, the push's `before` for the first). A job whose predecessor is
still pending stores its finished analysis on its row and leaves; the job that applies the
predecessor then applies it, and whatever waited for it, in order.

Every decision happens under the repository's apply lock (`lock_repository`): a job storing
its analysis and the job applying its predecessor can never miss each other, and two jobs can
never both start from the same health. A predecessor whose job never finishes (parked after
its retries, lost) stops blocking after `STALL_AFTER`: `stalled` hands its followers over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import PendingCommit
from app.jobs.inventory import insert_missing

T = TypeVar("T")

# Longer than a job's retries take before it is parked (about nine minutes), so a follower
# only ever overtakes a predecessor that failed for good or whose job was lost.
STALL_AFTER: Final = timedelta(minutes=15)
LOCK_KEY: Final = 0x7A70  # "tamagitto apply"; pg_advisory_xact_lock's first key
PLAN_BATCH: Final = 500  # rows per INSERT (SQLite allows 32,766 parameters per statement)


def chain(shas: Sequence[str], before: str | None) -> list[tuple[str, str | None]]:
    """Each commit with the one that must be applied before it: the previous one in the list
    (oldest first, as GitHub lists a push), `before` for the first. A repeated sha keeps its
    first place."""
    pairs: dict[str, str | None] = {}
    previous = before
    for sha in shas:
        if sha not in pairs and sha != previous:
            pairs[sha] = previous
        previous = sha
    return list(pairs.items())


async def lock_repository(session: AsyncSession, repository_id: int) -> None:
    """Take the repository's apply lock until the transaction ends; call it before any read.

    PostgreSQL: a transaction-scoped advisory lock. It involves no row, so it cannot join a
    lock cycle with the pet row, the foreign keys or the decay cron. SQLite ignores FOR UPDATE,
    and pysqlite would begin the transaction only at the first write, after the pet was read:
    BEGIN IMMEDIATE takes the database's write lock first, across processes too (other writers
    wait up to the busy timeout), and makes a SAVEPOINT part of the transaction instead of a
    transaction of its own.
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))
        return
    await session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY, repository_id % 2**31)))


async def plan(
    sessions: async_sessionmaker[AsyncSession],
    repository_id: int,
    pairs: Sequence[tuple[str, str | None]],
) -> None:
    """Record each commit's predecessor before its job is queued, so no job can miss it.

    A commit planned already (another branch, a redelivery) keeps its first predecessor.
    """
    rows = [{"repository_id": repository_id, "sha": sha, "after_sha": a} for sha, a in pairs]
    if not rows:
        return
    async with sessions.begin() as session:
        for start in range(0, len(rows), PLAN_BATCH):
            await insert_missing(session, PendingCommit, rows[start : start + PLAN_BATCH])


async def pending(session: AsyncSession, repository_id: int, sha: str) -> PendingCommit | None:
    """The commit's row while it is not applied."""
    return await session.scalar(
        select(PendingCommit).where(
            PendingCommit.repository_id == repository_id, PendingCommit.sha == sha
        )
    )


async def waits(session: AsyncSession, repository_id: int, after: str | None) -> bool:
    """Must a commit whose predecessor is `after` wait? Only while `after` is pending: a
    predecessor applied long ago, never planned (history before the App) or given up on is no
    reason to wait."""
    return after is not None and await pending(session, repository_id, after) is not None


async def store(
    session: AsyncSession, repository_id: int, sha: str, after: str | None, analysis: Any
) -> None:
    """Keep a finished analysis on the commit's row until its predecessor is applied."""
    row = await pending(session, repository_id, sha)
    if row is None:
        session.add(
            PendingCommit(repository_id=repository_id, sha=sha, after_sha=after, analysis=analysis)
        )
    else:
        row.analysis = analysis
    await session.flush()


async def forget(session: AsyncSession, repository_id: int, sha: str) -> None:
    """The commit is applied (or never will be): nothing waits for it any more."""
    await session.execute(
        delete(PendingCommit).where(
            PendingCommit.repository_id == repository_id, PendingCommit.sha == sha
        )
    )


async def followers(session: AsyncSession, repository_id: int, sha: str) -> list[PendingCommit]:
    """Analysed commits waiting for `sha`, oldest plan first."""
    rows = await session.scalars(
        select(PendingCommit)
        .where(
            PendingCommit.repository_id == repository_id,
            PendingCommit.after_sha == sha,
            PendingCommit.analysis.is_not(None),
        )
        .order_by(PendingCommit.id)
    )
    return list(rows.all())


async def drain(
    session: AsyncSession,
    repository_id: int,
    sha: str,
    apply: Callable[[PendingCommit], Awaitable[T]],
) -> list[T]:
    """Apply what waited for `sha`, then what waited for those, in order; each row goes away.

    A follower whose own job has not finished its analysis yet stops the walk there: that job
    finds its predecessor applied and goes on by itself.
    """
    done: list[T] = []
    todo = [sha]
    while todo:
        for row in await followers(session, repository_id, todo.pop(0)):
            done.append(await apply(row))
            await session.delete(row)
            await session.flush()
            todo.append(row.sha)
    return done


async def stalled_repositories(session: AsyncSession, now: datetime) -> list[int]:
    """Repositories with a commit pending for longer than STALL_AFTER."""
    rows = await session.scalars(
        select(PendingCommit.repository_id)
        .where(PendingCommit.created_at < now - STALL_AFTER)
        .distinct()
    )
    return list(rows.all())


async def stalled(
    session: AsyncSession, repository_id: int, now: datetime
) -> tuple[set[str], list[PendingCommit]]:
    """Give up waiting: forget commits still unanalysed after STALL_AFTER (their job failed for
    good or was lost; if it runs again, it applies on arrival). Returns their shas, and the
    analysed commits that wait for nothing pending any more, oldest first: applying each, then
    what waited for it (`drain`), keeps the order among the rest.
    """
    rows = list(
        (
            await session.scalars(
                select(PendingCommit)
                .where(PendingCommit.repository_id == repository_id)
                .order_by(PendingCommit.id)
            )
        ).all()
    )
    cutoff = now - STALL_AFTER
    gone = {r.sha for r in rows if r.analysis is None and r.created_at < cutoff}
    for row in rows:
        if row.sha in gone:
            await session.delete(row)
    await session.flush()
    left = {r.sha for r in rows if r.sha not in gone}
    return gone, [r for r in rows if r.analysis is not None and r.after_sha not in left]


async def overdue(session: AsyncSession, repository_id: int, now: datetime) -> list[PendingCommit]:
    """Analysed commits still waiting after STALL_AFTER although every stalled predecessor was
    given up: only a cycle of predecessors could hold them (commits are planned in history
    order, so none should), and a cycle would hold them forever. Oldest first."""
    rows = await session.scalars(
        select(PendingCommit)
        .where(
            PendingCommit.repository_id == repository_id,
            PendingCommit.analysis.is_not(None),
            PendingCommit.created_at < now - STALL_AFTER,
        )
        .order_by(PendingCommit.id)
    )
    return list(rows.all())


__all__ = [
    "STALL_AFTER",
    "chain",
    "drain",
    "forget",
    "lock_repository",
    "overdue",
    "pending",
    "plan",
    "stalled",
    "stalled_repositories",
    "store",
    "waits",
]
