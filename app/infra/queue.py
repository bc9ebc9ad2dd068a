"""The job-queue seam: arq on Redis in production, durable in-process jobs in embedded mode."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import (
    default_queue_name,
    expires_extra_ms,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.cron import CronJob
from arq.jobs import serialize_job
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Job, utcnow
from app.infra.group_commit import GroupCommit, UniqueJob
from app.infra.job_context import JobContext
from app.infra.registry import LONG_JOBS

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]

# arq keeps a finished job's result (and so blocks its id) for an hour; we mirror that.
KEEP_RESULT = timedelta(hours=1)
# Finished rows are deleted after this: longer than any `unique_for` used (3 days for webhooks).
KEEP_FINISHED = timedelta(days=4)
PRUNE_EVERY = 3600.0
# Every job gets this many tries in both modes (arq's max_tries, the inline runner, the jobs
# that give up on their own). With `transient_backoff` they span about nine minutes.
MAX_TRIES = 7
BACKOFF_FIRST = 2.0
BACKOFF_FACTOR = 3.0
BACKOFF_MAX = 300.0

# A job's in-progress lock in arq lasts its worker's longest timeout + 10 s, and a crashed
# worker's jobs wait that long. Normal jobs keep it at 40 s; jobs that may run longer
# (the hourly decay, the poller's sweep, picture generation) have their own queue and worker.
NORMAL_TIMEOUT = 30
LONG_TIMEOUT = 1800
LONG_QUEUE = "tamagitto:queue:long"

# A job enqueued with `unique_for` leaves its window (seconds) under WINDOW_PREFIX; only its
# success turns that into a DONE_PREFIX key. So an id counts as taken while its job is pending
# or after it was handled, never merely because it was received.
WINDOW_PREFIX = "tamagitto:window:"
DONE_PREFIX = "tamagitto:done:"
# Jobs that failed for good: job id -> JSON (function, args, tries, error, queue, failed_at).
PARKED_KEY = "tamagitto:parked"

# KEYS: arq job, arq retry counter, queue, parked. ARGV: serialized job, job ttl (ms), score,
# job id. Puts a parked job back unless a redelivery queued it again meanwhile.
REQUEUE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('PSETEX', KEYS[1], ARGV[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
return redis.call('HDEL', KEYS[4], ARGV[4])
"""


def transient_backoff(job_try: int) -> float:
    """2, 6, 18, 54, 162, 300 s between the seven tries: a short outage costs seconds, a long
    one about nine minutes before the job is parked."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * BACKOFF_FACTOR ** max(0, job_try - 1))


def is_transient(exc: BaseException) -> bool:
    """Database or Redis trouble (or a dropped socket): worth another try later."""
    if isinstance(exc, DBAPIError | OSError | TimeoutError | QueueUnavailable):
        return True
    if type(exc).__name__ == "DatabaseUnavailable":
        return True
    # redis-py's ConnectionError covers BusyLoadingError (a restarted Redis replaying its AOF)
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def durable(function: JobFunction) -> JobFunction:
    """Wrap a job so database and Redis failures retry with backoff instead of failing it.

    On the last try the original error propagates: the queue then parks the job for
    `tamagitto jobs retry`. The wrapper keeps the function's name (arq registers by it).
    """

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await function(ctx, *args, **kwargs)
        except Exception as exc:
            job_try = JobContext(ctx).job_try
            if not is_transient(exc) or job_try >= MAX_TRIES:
                raise
            delay = transient_backoff(job_try)
            log.warning(
                "job %s (%s) try %d/%d failed (%s: %s); again in %.0f s",
                JobContext(ctx).job_id,
                function.__name__,
                job_try,
                MAX_TRIES,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                delay,
            )
            raise Retry(defer=delay) from exc

    return run


def queue_for(name: str) -> str:
    """The arq queue a job function belongs to."""
    return LONG_QUEUE if name in LONG_JOBS else default_queue_name


@dataclass(frozen=True)
class ParkedJob:
    """A job that failed for good, as `tamagitto jobs failed` lists it."""

    id: str
    function: str
    args: list[Any]
    tries: int
    error: str
    failed_at: datetime | None
    queue: str = default_queue_name

    def to_json(self) -> str:
        """What the parked hash stores (args are JSON in both modes)."""
        return json.dumps(
            {
                "function": self.function,
                "args": self.args,
                "tries": self.tries,
                "error": self.error,
                "failed_at": self.failed_at.isoformat() if self.failed_at else None,
                "queue": self.queue,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, job_id: str, raw: str | bytes) -> ParkedJob:
        """Read an entry of the parked hash back."""
        data = json.loads(raw)
        failed_at = data.get("failed_at")
        return cls(
            id=job_id,
            function=data.get("function", "?"),
            args=list(data.get("args") or []),
            tries=int(data.get("tries") or 0),
            error=data.get("error") or "",
            failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
            queue=data.get("queue") or default_queue_name,
        )


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

    async def failed(self) -> list[ParkedJob]:
        """Jobs that failed for good and wait for `tamagitto jobs retry`, oldest first."""
        ...

    async def retry(self, ids: Sequence[str] | None = None) -> list[str]:
        """Queue parked jobs again (all of them when `ids` is None); the ids requeued."""
        ...


class ArqQueue:
    """Production queue: jobs go to Redis and any `tamagitto worker` runs them."""

    def __init__(self, redis: ArqRedis, queue_name: str | None = None) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self.intake = GroupCommit(redis)

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
        kwargs["_queue_name"] = self.queue_name or queue_for(name)
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
        """Reserve the id and store the job atomically, in this process's next group commit.

        This is the webhook hot path: arq's own enqueue takes three round trips; here every
        delivery waiting in this process shares one script call (see app/infra/group_commit.py),
        and each is answered only once Redis has stored it.
        """
        now_ms = int(time.time() * 1000)
        payload = serialize_job(name, args, {}, None, now_ms, serializer=self.redis.job_serializer)
        job = UniqueJob(
            job_id=job_id,
            queue=self.queue_name or queue_for(name),
            done_key=DONE_PREFIX + job_id,
            window_key=WINDOW_PREFIX + job_id,
            job_key=job_key_prefix + job_id,
            result_key=result_key_prefix + job_id,
            window_s=int(unique_for),
            ttl_ms=expires_extra_ms,
            score_ms=now_ms,
            payload=payload,
        )
        try:
            return await self.intake.submit(job)
        except Exception as exc:
            failure = redis_failure(exc)
            if failure is exc:
                raise
            raise failure from exc

    async def aclose(self) -> None:
        """Wait for the group commit in flight, so no delivery is left without an answer."""
        await self.intake.aclose()

    async def ping(self) -> None:
        """A Redis PING with a short timeout."""
        async with asyncio.timeout(2):
            await self.redis.ping()

    async def failed(self) -> list[ParkedJob]:
        """The parked hash, oldest failure first."""
        raw = await self.redis.hgetall(PARKED_KEY)  # type: ignore[misc]
        jobs = [ParkedJob.from_json(k.decode(), v) for k, v in raw.items()]
        return sorted(jobs, key=lambda j: (j.failed_at or datetime.min.replace(tzinfo=UTC), j.id))

    async def retry(self, ids: Sequence[str] | None = None) -> list[str]:
        """Each parked job goes back to its queue with its tries reset, atomically."""
        parked = {job.id: job for job in await self.failed()}
        chosen = list(parked) if ids is None else [i for i in ids if i in parked]
        script = self.redis.register_script(REQUEUE_LUA)
        done = []
        for job_id in chosen:
            job = parked[job_id]
            now_ms = int(time.time() * 1000)
            payload = serialize_job(
                job.function,
                tuple(job.args),
                {},
                None,
                now_ms,
                serializer=self.redis.job_serializer,
            )
            keys = [job_key_prefix + job_id, retry_key_prefix + job_id, job.queue, PARKED_KEY]
            if await script(keys=keys, args=[payload, expires_extra_ms, now_ms, job_id]):
                done.append(job_id)
        return done


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
            if not await self._requeue_finished(job, now, keep):
                return False
        self._wake.set()
        return True

    async def _requeue_finished(self, job: Job, now: datetime, keep: timedelta) -> bool:
        """Reuse the id of a job that failed for good, or succeeded longer ago than `keep`.

        Only success blocks an id: a redelivery of a delivery whose job was parked runs it.
        """
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id == job.id,
                    or_(
                        Job.status == "failed",
                        (Job.status == "done") & (Job.finished_at < now - keep),
                    ),
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

    async def failed(self) -> list[ParkedJob]:
        """Rows that failed for good (they are never pruned)."""
        async with self.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(Job).where(Job.status == "failed").order_by(Job.finished_at, Job.id)
                )
            ).all()
        return [
            ParkedJob(
                r.id, r.function, list(r.args or []), r.attempts, r.error or "", r.finished_at
            )
            for r in rows
        ]

    async def retry(self, ids: Sequence[str] | None = None) -> list[str]:
        """Failed rows become queued with their tries reset; a running runner picks them up."""
        condition = Job.status == "failed"
        if ids is not None:
            condition = condition & Job.id.in_(list(ids))
        async with self.sessionmaker.begin() as session:
            chosen = list((await session.scalars(select(Job.id).where(condition))).all())
            await session.execute(
                update(Job)
                .where(condition, Job.id.in_(chosen))
                .values(status="queued", attempts=0, error=None, run_at=utcnow(), finished_at=None)
            )
        self._wake.set()
        return chosen

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
        """Delete rows done longer ago than KEEP_FINISHED, so the table stays small.

        Failed rows stay until `tamagitto jobs retry` (or a redelivery) runs them again.
        """
        cutoff = (now or utcnow()) - KEEP_FINISHED
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                delete(Job).where(Job.status == "done", Job.finished_at < cutoff)
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
                log.error("job %s (%s) parked: %s", job.id, job.function, error)
        except asyncio.CancelledError:
            status = "queued"
            raise
        except Exception as exc:
            log.exception(
                "job %s (%s) failed; parked for `tamagitto jobs retry`", job.id, job.function
            )
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
