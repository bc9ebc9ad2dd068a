"""The job-queue seam: arq on Redis in production, durable in-process jobs in embedded mode."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import default_queue_name, expires_extra_ms, job_key_prefix, result_key_prefix
from arq.cron import CronJob
from arq.jobs import serialize_job
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Job, utcnow

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]

# arq keeps a finished job's result (and so blocks its id) for an hour; we mirror that.
KEEP_RESULT = timedelta(hours=1)
# Finished rows are deleted after this: longer than any `unique_for` used (3 days for webhooks).
KEEP_FINISHED = timedelta(days=4)
PRUNE_EVERY = 3600.0
MAX_TRIES = 5
UNIQUE_PREFIX = "tamagitto:unique:"

# KEYS: reservation, arq job, arq result, arq queue. ARGV: reservation ttl (s), serialized job,
# job ttl (ms), score (ms), job id. Returns 0 when the id is reserved already.
UNIQUE_ENQUEUE_LUA = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if redis.call('EXISTS', KEYS[2], KEYS[3]) == 0 then
  redis.call('PSETEX', KEYS[2], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
end
return 1
"""


class QueueUnavailable(Exception):
    """The queue could not store the job; callers must not report success."""


def redis_failure(exc: Exception) -> Exception:
    """Connection trouble (socket errors, redis-py's own types) means the queue is unavailable."""
    if isinstance(exc, OSError | ConnectionError) or type(exc).__module__.startswith("redis"):
        return QueueUnavailable(f"redis: {exc}")
    return exc


class JobQueue(Protocol):
    """What the rest of the code needs from a queue."""

    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | None = None,
        unique_for: float | None = None,
    ) -> bool:
        """Queue a job; False when a job with this id is already queued or recently done.

        `unique_for` (seconds) reserves `job_id` for that long even after the job finished:
        webhook deliveries use it for GitHub's 3-day redelivery window.
        """
        ...

    async def ping(self) -> None:
        """Raise if the queue cannot accept jobs right now."""
        ...


class ArqQueue:
    """Production queue: jobs go to Redis and any `tamagitto worker` runs them."""

    def __init__(self, redis: ArqRedis, queue_name: str | None = None) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self._script: Any = None
        self._pending: list[tuple[list[Any], list[Any], asyncio.Future[Any]]] = []
        self._senders: set[asyncio.Task[None]] = set()

    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | None = None,
        unique_for: float | None = None,
    ) -> bool:
        """arq deduplicates by `_job_id` while the job or its result exists."""
        if unique_for is not None and job_id is not None:
            return await self._enqueue_unique(name, args, job_id, unique_for)
        kwargs: dict[str, Any] = {"_job_id": job_id, "_defer_by": defer_by}
        if self.queue_name:
            kwargs["_queue_name"] = self.queue_name
        try:
            job = await self.redis.enqueue_job(name, *args, **kwargs)
        except Exception as exc:
            failure = redis_failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        return job is not None

    async def _enqueue_unique(
        self, name: str, args: tuple[Any, ...], job_id: str, unique_for: float
    ) -> bool:
        """Reserve the id and store the job atomically (a Lua script), batched per loop tick.

        This is the webhook hot path: arq's own enqueue takes three round trips; here requests
        that arrive together share one pipelined round trip, and each is answered only once
        Redis has stored it.
        """
        now_ms = int(time.time() * 1000)
        payload = serialize_job(name, args, {}, None, now_ms, serializer=self.redis.job_serializer)
        queue = self.queue_name or default_queue_name
        keys = [UNIQUE_PREFIX + job_id, job_key_prefix + job_id, result_key_prefix + job_id, queue]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(
            (keys, [int(unique_for), payload, expires_extra_ms, now_ms, job_id], future)
        )
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)
        return bool(await future)

    def _flush(self) -> None:
        """Send everything queued during this loop tick as one pipeline."""
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._send(batch))
        self._senders.add(task)
        task.add_done_callback(self._senders.discard)

    async def _send(self, batch: list[tuple[list[Any], list[Any], asyncio.Future[Any]]]) -> None:
        """One round trip for the batch; every waiter gets its own result or the failure."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for keys, args, _ in batch:
                    await self._unique_script(keys=keys, args=args, client=pipe)  # queues only
                results = await pipe.execute()
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} answers for {len(batch)} jobs")
        except Exception as exc:
            failure = redis_failure(exc)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        for (_, _, future), result in zip(batch, results, strict=False):
            if not future.done():
                future.set_result(result)

    @property
    def _unique_script(self) -> Any:
        """Registered once per client; redis-py uses EVALSHA and falls back to EVAL."""
        if self._script is None:
            self._script = self.redis.register_script(UNIQUE_ENQUEUE_LUA)
        return self._script

    async def ping(self) -> None:
        """A Redis PING with a short timeout."""
        async with asyncio.timeout(2):
            await self.redis.ping()


@dataclass
class InlineQueue:
    """Embedded mode: jobs are rows in the database and run in this process.

    Rows make the queue durable: a job queued before a crash or restart runs after it,
    and a job that was running when the process died runs again (as arq does).
    """

    sessionmaker: async_sessionmaker[AsyncSession]
    functions: dict[str, JobFunction]
    ctx: dict[str, Any] = field(default_factory=dict)
    max_jobs: int = 8
    poll_interval: float = 1.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _runner: asyncio.Task[None] | None = None
    _pruned_at: float = 0.0

    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | None = None,
        unique_for: float | None = None,
    ) -> bool:
        """Insert the job row; an existing id is a duplicate unless its result has expired."""
        if name not in self.functions:
            raise ValueError(f"unknown job function {name!r}")
        now = utcnow()
        run_at = now + timedelta(seconds=defer_by or 0)
        job = Job(id=job_id or uuid.uuid4().hex, function=name, args=list(args), run_at=run_at)
        try:
            async with self.sessionmaker.begin() as session:
                session.add(job)
        except (OperationalError, InterfaceError) as exc:
            raise QueueUnavailable(f"database: {type(exc).__name__}") from exc
        except IntegrityError:
            keep = max(KEEP_RESULT, timedelta(seconds=unique_for or 0))
            if not await self._requeue_expired(job, now, keep):
                return False
        self._wake.set()
        return True

    async def _requeue_expired(self, job: Job, now: datetime, keep: timedelta) -> bool:
        """Reuse the id of a job finished longer ago than `keep` (arq keeps results 1 h)."""
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id == job.id,
                    Job.status.in_(("done", "failed")),
                    Job.finished_at < now - keep,
                )
                .values(
                    status="queued",
                    function=job.function,
                    args=job.args,
                    run_at=job.run_at,
                    attempts=0,
                    error=None,
                    finished_at=None,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def ping(self) -> None:
        """The database is the queue; the readiness check covers it."""

    async def start(self) -> None:
        """Resume jobs interrupted by a crash, then run queued jobs in the background."""
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(Job).where(Job.status == "running").values(status="queued")
            )
        await self.prune()
        self._runner = asyncio.create_task(self._run_forever(), name="inline-queue")

    async def stop(self) -> None:
        """Stop taking jobs and wait for the running ones (they are short)."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    async def prune(self, now: datetime | None = None) -> int:
        """Delete rows finished longer ago than KEEP_FINISHED, so the table stays small."""
        cutoff = (now or utcnow()) - KEEP_FINISHED
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                delete(Job).where(Job.status.in_(("done", "failed")), Job.finished_at < cutoff)
            )
        self._pruned_at = time.monotonic()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def join(self, timeout: float = 30.0) -> None:
        """Wait until no job is queued, due or running (tests and replay use this)."""
        async with asyncio.timeout(timeout):
            while True:
                async with self.sessionmaker() as session:
                    pending = await session.scalar(
                        select(Job.id)
                        .where(Job.status.in_(("queued", "running")), Job.run_at <= utcnow())
                        .limit(1)
                    )
                if pending is None and not self._tasks:
                    return
                self._wake.set()
                await asyncio.sleep(0.02)

    async def _run_forever(self) -> None:
        """Claim due jobs up to max_jobs at a time; sleep until woken or the next poll."""
        while True:
            try:
                if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                    await self.prune()
                claimed = await self._claim(self.max_jobs - len(self._tasks))
            except Exception:
                log.exception("inline queue: cannot read jobs; retrying")
                claimed = []
            for job in claimed:
                task = asyncio.create_task(self._run(job), name=f"job:{job.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._wake.clear()
            if not claimed or len(self._tasks) >= self.max_jobs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _claim(self, room: int) -> Sequence[Job]:
        """Mark due jobs as running; the status guard makes a claim exclusive."""
        if room <= 0:
            return []
        async with self.sessionmaker.begin() as session:
            rows = (
                await session.scalars(
                    select(Job)
                    .where(Job.status == "queued", Job.run_at <= utcnow())
                    .order_by(Job.run_at)
                    .limit(room)
                )
            ).all()
            claimed = []
            for job in rows:
                res = await session.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.status == "queued")
                    .values(status="running", attempts=Job.attempts + 1)
                )
                if res.rowcount:  # type: ignore[attr-defined]
                    claimed.append(job)  # the ORM update already bumped job.attempts
            return claimed

    async def _run(self, job: Job) -> None:
        """Run one job with arq's semantics: Retry defers, other errors fail the job."""
        ctx = {**self.ctx, "job_id": job.id, "job_try": job.attempts}
        status, error, run_at = "done", None, None
        try:
            await self.functions[job.function](ctx, *job.args)
        except Retry as exc:
            if job.attempts < MAX_TRIES:
                status, run_at = "queued", utcnow() + timedelta(seconds=_defer_seconds(exc))
            else:
                status, error = "failed", f"gave up after {job.attempts} tries"
        except asyncio.CancelledError:
            status = "queued"
            raise
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.function)
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        finally:
            await self._finish(job, status, error, run_at)

    async def _finish(
        self, job: Job, status: str, error: str | None, run_at: datetime | None
    ) -> None:
        """Record the outcome; a queued status with run_at schedules the retry."""
        values: dict[str, Any] = {"status": status, "error": error}
        if status == "queued":
            values["run_at"] = run_at or utcnow()
        else:
            values["finished_at"] = utcnow()
        async with self.sessionmaker.begin() as session:
            await session.execute(update(Job).where(Job.id == job.id).values(**values))
        if status == "queued":
            self._wake.set()


def _defer_seconds(exc: Retry) -> float:
    """arq's Retry carries its delay in milliseconds (or None)."""
    return (exc.defer_score or 0) / 1000


@dataclass
class InlineCron:
    """Embedded mode's cron: the same arq `cron()` definitions, run by a small loop."""

    jobs: list[CronJob]
    ctx: dict[str, Any]
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        # CronJob objects carry their next run; copies keep arq workers' schedules apart.
        self.jobs = [copy.copy(job) for job in self.jobs]

    def start(self) -> None:
        """Schedule every job's next run (nothing to do without jobs)."""
        if not self.jobs:
            return
        self._task = asyncio.create_task(self._loop(), name="inline-cron")

    async def stop(self) -> None:
        """Cancel the loop; a running cron job is cancelled too (they are idempotent)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        """Sleep until the earliest next run, run what is due, repeat."""
        now = datetime.now(UTC)
        for job in self.jobs:
            job.calculate_next(now)
        while True:
            due = min(job.next_run for job in self.jobs if job.next_run)
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            now = datetime.now(UTC)
            for job in self.jobs:
                if job.next_run and job.next_run <= now:
                    await self._run_one(job)
                    job.calculate_next(now)

    async def _run_one(self, job: CronJob) -> None:
        """A failing cron job is logged; the schedule goes on."""
        try:
            await job.coroutine(dict(self.ctx))
        except Exception:
            log.exception("cron job %s failed", job.name)
