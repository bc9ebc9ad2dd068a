"""Nothing acknowledged is lost: only handled work deduplicates, failures retry, then park.

Both queues, on the real Redis and databases: a delivery whose job failed for good is processed
when redelivered; database and Redis errors retry with backoff; jobs out of tries are parked
where `tamagitto jobs failed` / `jobs retry` see them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from arq import Retry
from arq.connections import RedisSettings, create_pool
from arq.constants import default_queue_name, retry_key_prefix
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.infra.job_context import JobContext
from app.infra.queue.arq import ArqQueue
from app.infra.queue.inline import InlineQueue
from app.infra.registry import (
    MAX_TRIES,
    NORMAL_TIMEOUT,
    as_arq,
    durable,
    is_transient,
    transient_backoff,
)
from app.jobs.functions import CRON_JOBS, LONG_FUNCTIONS, NORMAL_FUNCTIONS
from worker.durable import DurableWorker

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 3 * 24 * 3600.0

runs: list[tuple[str, int]] = []
failing: set[str] = set()


async def deliver(ctx: JobContext, key: str) -> str:
    """Fails (not transiently) while its key is in `failing`."""
    runs.append((key, ctx.job_try))
    if key in failing:
        raise ValueError(f"cannot handle {key}")
    return "ok"


async def db_blip(ctx: JobContext, key: str) -> str:
    """The database is down on the first try only."""
    runs.append((key, ctx.job_try))
    if ctx.job_try == 1:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))
    return "ok"


def reset() -> None:
    runs.clear()
    failing.clear()


async def burst(redis_url: str, *functions: Any) -> DurableWorker:
    worker = DurableWorker(
        functions=[as_arq(durable(f)) for f in functions],
        redis_settings=RedisSettings.from_dsn(redis_url),
        burst=True,
        poll_delay=0.05,
        max_tries=MAX_TRIES,
        handle_signals=False,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return worker


async def test_arq_redelivery_of_a_failed_delivery_is_processed(redis_url: str) -> None:
    reset()
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    queue = ArqQueue(redis)
    try:
        failing.add("d1")
        assert await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
        # pending: a redelivery now is a duplicate (the queued job will handle it)
        assert not await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
        await burst(redis_url, deliver)
        assert [j.id for j in await queue.failed()] == ["delivery:d1"]
        assert "cannot handle d1" in (await queue.failed())[0].error

        failing.clear()
        assert await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
        await burst(redis_url, deliver)
        assert runs == [("d1", 1), ("d1", 1)]
        assert await queue.failed() == []  # handled now: no longer parked
        # handled: from now on a redelivery is a duplicate
        assert not await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
    finally:
        await redis.aclose()


async def test_arq_lost_job_is_processed_on_redelivery(redis_url: str) -> None:
    """A job that vanished before it ran (not handled) must not block its redelivery."""
    reset()
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    queue = ArqQueue(redis)
    try:
        assert await queue.enqueue("deliver", "d2", job_id="delivery:d2", unique_for=WINDOW)
        await redis.delete("arq:job:delivery:d2")
        await redis.zrem(default_queue_name, "delivery:d2")
        assert await queue.enqueue("deliver", "d2", job_id="delivery:d2", unique_for=WINDOW)
        await burst(redis_url, deliver)
        assert runs == [("d2", 1)]
    finally:
        await redis.aclose()


async def test_arq_database_error_retries_with_backoff(redis_url: str) -> None:
    reset()
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        assert await ArqQueue(redis).enqueue("db_blip", "k")
        await burst(redis_url, db_blip)
        assert runs == [("k", 1), ("k", 2)]
        assert await ArqQueue(redis).failed() == []
    finally:
        await redis.aclose()


async def test_arq_job_out_of_tries_is_parked_and_retried(redis_url: str) -> None:
    """arq's own "max retries exceeded" path (a job retried, or its worker killed, too often)."""
    reset()
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    queue = ArqQueue(redis)
    try:
        assert await queue.enqueue("deliver", "tired", job_id="tired")
        await redis.set(retry_key_prefix + "tired", MAX_TRIES)
        await burst(redis_url, deliver)
        assert runs == []
        [parked] = await queue.failed()
        assert (parked.id, parked.function, parked.args) == ("tired", "deliver", ["tired"])
        assert "retries exceeded" in parked.error
        assert await queue.retry(["nope"]) == []
        assert await queue.retry() == ["tired"]
        await burst(redis_url, deliver)
        assert runs == [("tired", 1)]  # tries were reset
        assert await queue.failed() == []
    finally:
        await redis.aclose()


def test_durable_wrapper_retries_transient_errors_then_lets_them_fail() -> None:
    async def down(ctx: JobContext) -> None:
        raise ConnectionRefusedError(111, "refused")

    wrapped = as_arq(durable(down))
    assert (wrapped.__name__, wrapped.__qualname__) == (down.__name__, down.__qualname__)
    with pytest.raises(Retry) as retry:
        asyncio.run(wrapped({"job_try": 1}))
    assert retry.value.defer_score == transient_backoff(1) * 1000
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(wrapped({"job_try": MAX_TRIES}))
    assert not is_transient(ValueError("a bug"))
    delays = [transient_backoff(t) for t in range(1, MAX_TRIES)]
    assert MAX_TRIES >= 5 and delays == sorted(delays)
    assert 6 * 60 <= sum(delays) <= 12 * 60  # about ten minutes before a job is parked


def test_a_crashed_workers_jobs_are_locked_under_a_minute() -> None:
    """arq locks a started job for the longest timeout + 10 s: normal jobs stay short."""
    from app.core.config import Settings
    from worker.settings import worker_kwargs

    settings = Settings(REDIS_URL="redis://127.0.0.1:6379/0")  # type: ignore[call-arg]
    normal = DurableWorker(**worker_kwargs(settings, handle_signals=False))
    long = DurableWorker(**worker_kwargs(settings, long=True, handle_signals=False))
    assert normal.in_progress_timeout_s <= 50
    assert normal.job_timeout_s == NORMAL_TIMEOUT
    assert "process_event" in normal.functions and "analyze_commit" in normal.functions
    assert not normal.cron_jobs and "decay_pets" not in normal.functions
    assert {c.name for c in long.cron_jobs} == {c.name for c in CRON_JOBS}
    names = {f.__name__ for f in NORMAL_FUNCTIONS} | {f.__name__ for f in LONG_FUNCTIONS}
    assert len(names) == len(NORMAL_FUNCTIONS) + len(LONG_FUNCTIONS)


async def _inline(sessions: async_sessionmaker[AsyncSession]) -> InlineQueue:
    queue = InlineQueue(
        sessions,
        {"deliver": as_arq(durable(deliver)), "db_blip": as_arq(durable(db_blip))},
        poll_interval=0.05,
    )
    await queue.start()
    return queue


async def test_inline_redelivery_of_a_failed_delivery_is_processed(
    sqlite_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    reset()
    queue = await _inline(sqlite_sessionmaker)
    try:
        failing.add("d1")
        assert await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
        await queue.join()
        assert [j.id for j in await queue.failed()] == ["delivery:d1"]
        failing.clear()
        assert await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
        await queue.join()
        assert runs == [("d1", 1), ("d1", 1)]
        assert await queue.failed() == []
        assert not await queue.enqueue("deliver", "d1", job_id="delivery:d1", unique_for=WINDOW)
    finally:
        await queue.stop()


async def test_inline_database_error_retries_and_failures_are_never_pruned(
    sqlite_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import timedelta

    from app.core.models import utcnow

    reset()
    queue = await _inline(sqlite_sessionmaker)
    try:
        await queue.enqueue("db_blip", "k", job_id="blip")
        for _ in range(100):  # the retry is deferred by transient_backoff(1) seconds
            if len(runs) == 2:
                break
            await asyncio.sleep(0.05)
        await queue.join()
        assert runs == [("k", 1), ("k", 2)]
        failing.add("x")
        await queue.enqueue("deliver", "x", job_id="x")
        await queue.join()
        assert await queue.prune(utcnow() + timedelta(days=30)) == 1  # the done one
        assert [j.id for j in await queue.failed()] == ["x"]
        failing.clear()
        assert await queue.retry(["x"]) == ["x"]
        await queue.join()
        assert await queue.failed() == []
    finally:
        await queue.stop()


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "app", "jobs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "PYTHONPATH": str(ROOT), **env},
    )


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_jobs_cli_lists_and_retries_parked_jobs(
    mode: str, tmp_path: Path, pg_url: str, redis_url: str, sqlite_url: str
) -> None:
    reset()
    if mode == "production":
        env = {"DATABASE_URL": pg_url, "REDIS_URL": redis_url}
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        queue: Any = ArqQueue(redis)
    else:
        env = {"DATABASE_URL": sqlite_url}
        from app.core import db

        engine = db.create_engine(sqlite_url)
        queue = InlineQueue(db.make_sessionmaker(engine), {"deliver": as_arq(durable(deliver))})
        await queue.start()
    try:
        failing.update({"a", "b"})
        for key in ("a", "b"):
            await queue.enqueue("deliver", key, job_id=f"job-{key}")
        if mode == "production":
            await burst(redis_url, deliver)
        else:
            await queue.join()
        listed = await asyncio.to_thread(_cli, "failed", "--json", cwd=tmp_path, env=env)
        assert listed.returncode == 0, listed.stderr
        parked = json.loads(listed.stdout)
        assert sorted(j["id"] for j in parked) == ["job-a", "job-b"]
        assert all(j["function"] == "deliver" and "ValueError" in j["error"] for j in parked)

        unknown = await asyncio.to_thread(_cli, "retry", "job-zzz", cwd=tmp_path, env=env)
        assert unknown.returncode == 1 and "job-zzz" in unknown.stderr
        failing.clear()
        one = await asyncio.to_thread(_cli, "retry", "job-a", cwd=tmp_path, env=env)
        assert (one.returncode, one.stdout.split()) == (0, ["job-a"])
        rest = await asyncio.to_thread(_cli, "retry", "--all", cwd=tmp_path, env=env)
        assert (rest.returncode, rest.stdout.split()) == (0, ["job-b"])
        if mode == "production":
            await burst(redis_url, deliver)
        else:
            await queue.join()
        assert sorted(runs) == [("a", 1), ("a", 1), ("b", 1), ("b", 1)]
        assert await queue.failed() == []
    finally:
        if mode == "production":
            await redis.aclose()
        else:
            await queue.stop()
            await engine.dispose()
