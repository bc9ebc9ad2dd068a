"""Production queue: jobs go to Redis and any `tamagitto worker` runs them (arq)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix, retry_key_prefix
from arq.jobs import serialize_job

from app.infra.group_commit import BatchStore, GroupCommit, RedisBatches, UniqueJob
from app.infra.queue.base import ParkedJob, QueueUnavailable
from app.infra.registry import queue_for

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


def redis_failure(exc: Exception) -> Exception:
    """Connection trouble (socket errors, redis-py's own types) means the queue is unavailable."""
    if isinstance(exc, OSError | ConnectionError) or type(exc).__module__.startswith("redis"):
        return QueueUnavailable(f"redis: {exc}")
    return exc


class ArqQueue:
    """Production queue: jobs go to Redis and any `tamagitto worker` runs them."""

    def __init__(
        self, redis: ArqRedis, queue_name: str | None = None, batches: BatchStore | None = None
    ) -> None:
        """`batches` replaces the Redis transaction under the group commit (tests use it)."""
        self.redis = redis
        self.queue_name = queue_name
        self.intake = GroupCommit(batches or RedisBatches(redis))

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
        delivery waiting in this process shares one transaction (see app/infra/group_commit.py),
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
        """Wait for the group commits in flight, so no delivery is left without an answer."""
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
