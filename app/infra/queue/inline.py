"""Embedded mode's queue and cron: durable jobs as database rows, run in this process.

Rows make the queue durable: a job queued before a crash or restart runs after it, and a job
that was running when the process died runs again, as arq does. Retry and tries follow
`app.infra.registry`, exactly as arq's workers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry
from arq.cron import CronJob
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Job, utcnow
from app.infra import job_context
from app.infra.queue.base import JobFunction, ParkedJob, QueueUnavailable
from app.infra.registry import last_try

log = logging.getLogger(__name__)

# arq keeps a finished job's result (and so blocks its id) for an hour; we mirror that.
KEEP_RESULT = timedelta(hours=1)
# Finished rows are deleted after this: longer than any `unique_for` used (3 days for webhooks).
KEEP_FINISHED = timedelta(days=4)
PRUNE_EVERY = 3600.0


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
        ctx = job_context.run_ctx(self.ctx, job_id=job.id, job_try=job.attempts)
        status, error, run_at = "done", None, None
        try:
            await self.functions[job.function](ctx, *job.args)
        except Retry as exc:
            if not last_try(job.attempts):
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
