"""Both queue implementations: arq on the real Redis, and durable in-process jobs."""

from __future__ import annotations

import asyncio
from typing import Any

from arq import Retry
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Job
from app.infra.queue.arq import ArqQueue
from app.infra.queue.inline import InlineQueue

calls: list[tuple[Any, ...]] = []


async def record(ctx: dict[str, Any], *args: Any) -> str:
    """A job that records its arguments and the ctx it saw."""
    calls.append((ctx.get("marker"), *args))
    return "ok"


async def flaky(ctx: dict[str, Any], key: str) -> None:
    """Fails with Retry on its first try, succeeds on the second."""
    calls.append(("flaky", key, ctx["job_try"]))
    if ctx["job_try"] < 2:
        raise Retry(defer=0.05)


async def test_arq_queue_runs_job_in_burst_worker(redis_url: str) -> None:
    calls.clear()
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        queue = ArqQueue(redis)
        assert await queue.enqueue("record", 1, "two", job_id="job-1") is True
        assert await queue.enqueue("record", 1, "two", job_id="job-1") is False
        assert await queue.enqueue("record", 3) is True
        await queue.ping()
        worker = Worker(
            functions=[record],
            redis_settings=RedisSettings.from_dsn(redis_url),
            burst=True,
            ctx={"marker": "arq"},
            poll_delay=0.05,
        )
        await worker.async_run()
        await worker.close()
        assert sorted(calls, key=str) == sorted([("arq", 1, "two"), ("arq", 3)], key=str)
        # the finished job's result blocks its id, as arq documents
        assert await queue.enqueue("record", 1, "two", job_id="job-1") is False
    finally:
        await redis.aclose()


async def _inline(sessions: async_sessionmaker[AsyncSession]) -> InlineQueue:
    queue = InlineQueue(
        sessions, {"record": record, "flaky": flaky}, ctx={"marker": "inline"}, poll_interval=0.05
    )
    await queue.start()
    return queue


async def test_inline_queue_runs_and_deduplicates(
    sqlite_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    calls.clear()
    queue = await _inline(sqlite_sessionmaker)
    try:
        assert await queue.enqueue("record", "a", job_id="x") is True
        assert await queue.enqueue("record", "a", job_id="x") is False
        await queue.join()
        assert calls == [("inline", "a")]
        assert await queue.enqueue("record", "a", job_id="x") is False
    finally:
        await queue.stop()
    async with sqlite_sessionmaker() as session:
        job = await session.get(Job, "x")
        assert job is not None and job.status == "done" and job.attempts == 1


async def test_inline_queue_retries(sqlite_sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    calls.clear()
    queue = await _inline(sqlite_sessionmaker)
    try:
        await queue.enqueue("flaky", "k", job_id="f")
        await asyncio.sleep(0.1)
        await queue.join()
    finally:
        await queue.stop()
    assert calls == [("flaky", "k", 1), ("flaky", "k", 2)]


async def test_inline_queue_resumes_after_crash(
    pg_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A job left 'running' by a killed process runs again on the next start."""
    calls.clear()
    first = InlineQueue(pg_sessionmaker, {"record": record})
    await first.enqueue("record", "survivor", job_id="crash")
    async with pg_sessionmaker.begin() as session:  # what a crash mid-job leaves behind
        await session.execute(update(Job).where(Job.id == "crash").values(status="running"))
    queue = await _inline(pg_sessionmaker)
    try:
        await queue.join()
    finally:
        await queue.stop()
    assert calls == [("inline", "survivor")]
    async with pg_sessionmaker() as session:
        status = await session.scalar(select(Job.status).where(Job.id == "crash"))
    assert status == "done"


async def test_inline_queue_unknown_function(
    sqlite_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    queue = InlineQueue(sqlite_sessionmaker, {"record": record})
    try:
        await queue.enqueue("nope")
    except ValueError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("unknown job accepted")


async def test_inline_cron_runs_arq_cron_definitions() -> None:
    """Embedded mode runs the same `arq.cron` definitions, on copies of them."""
    from arq.cron import cron

    from app.infra.queue.inline import InlineCron

    calls.clear()
    job = cron(record, name="tick", second=set(range(60)))
    runner = InlineCron([job], {"marker": "cron"})
    runner.start()
    try:
        for _ in range(40):
            if calls:
                break
            await asyncio.sleep(0.1)
    finally:
        await runner.stop()
    assert calls and calls[0] == ("cron",)
    assert job.next_run is None  # the shared definition was not mutated


async def test_inline_queue_prunes_old_finished_rows(
    sqlite_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Finished rows go after 4 days; queued and recent ones stay (they still deduplicate)."""
    from datetime import timedelta

    from app.core.models import utcnow

    queue = InlineQueue(sqlite_sessionmaker, {"record": record})
    now = utcnow()
    async with sqlite_sessionmaker.begin() as session:
        session.add_all(
            [
                Job(
                    id="old", function="record", status="done", finished_at=now - timedelta(days=5)
                ),
                Job(
                    id="recent",
                    function="record",
                    status="done",
                    finished_at=now - timedelta(days=2),
                ),
                Job(id="waiting", function="record", status="queued"),
            ]
        )
    assert await queue.prune(now) == 1
    async with sqlite_sessionmaker() as session:
        assert sorted((await session.scalars(select(Job.id))).all()) == ["recent", "waiting"]
