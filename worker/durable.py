"""arq's Worker, made to park failures, mark successes and survive Redis outages.

arq drops a job that fails for good (its result expires after an hour) and exits when Redis goes
away. Here a job that fails for good goes to the parked hash, in the same transaction that
removes it from the queue, so `tamagitto jobs retry` can run it again; a success turns a
`unique_for` window into a "done" key, in the same transaction again; and a poll that cannot
reach Redis waits and tries again with backoff instead of stopping the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.jobs import JobResult, deserialize_result
from arq.utils import to_ms
from arq.worker import Worker

from app.infra.queue.arq import DONE_PREFIX, PARKED_KEY, WINDOW_PREFIX
from app.infra.queue.base import ParkedJob
from app.infra.registry import is_transient

log = logging.getLogger(__name__)

RECONNECT_FIRST = 0.2
RECONNECT_MAX = 5.0
# A job whose work is done waits this long for Redis to come back to record it; otherwise its
# in-progress lock has to expire first and the job runs again (harmless, but slower).
FINISH_PATIENCE = 30.0

# KEYS: window, done, parked. ARGV: job id. A success within a `unique_for` window marks the id
# handled for that window, and clears an older failure of the same job from the parked hash.
MARK_DONE_LUA = """
local window = redis.call('GET', KEYS[1])
if window then
  redis.call('SET', KEYS[2], '1', 'EX', window)
  redis.call('DEL', KEYS[1])
end
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


class DurableWorker(Worker):
    """An arq Worker that parks failed jobs, marks handled ones, and reconnects to Redis."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cron_names = {job.name for job in self.cron_jobs}
        self._reconnect_delay = 0.0
        self.redis_outages = 0

    async def _poll_iteration(self) -> None:
        """One poll; Redis trouble waits with backoff (the pool reconnects on the next call)."""
        try:
            await super()._poll_iteration()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if not self._reconnect_delay:
                self.redis_outages += 1
                log.error("worker: Redis unreachable (%s); retrying", type(exc).__name__)
            self._reconnect_delay = min(
                RECONNECT_MAX, max(RECONNECT_FIRST, self._reconnect_delay * 2)
            )
            await asyncio.sleep(self._reconnect_delay)
            return
        if self._reconnect_delay:
            log.warning("worker: Redis is back; polling again")
            self._reconnect_delay = 0.0

    def _result(self, result_data: bytes | None) -> JobResult | None:
        """The finished job as arq recorded it (None if arq could not serialize it)."""
        if result_data is None:
            return None
        try:
            return deserialize_result(result_data, deserializer=self.job_deserializer)
        except Exception:
            log.exception("worker: cannot read a job result back")
            return None

    def _parked(self, job_id: str, result: JobResult | None) -> ParkedJob:
        """The parked entry for a failed job (what `tamagitto jobs failed` shows)."""
        error = "unknown failure"
        if result is not None:
            exc = result.result
            error = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
        return ParkedJob(
            id=job_id,
            function=result.function if result is not None else "?",
            args=list(result.args) if result is not None else [],
            tries=result.job_try if result is not None else 0,
            error=error[:2000],
            failed_at=datetime.now(UTC),
            queue=self.queue_name,
        )

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        """arq's finish_job, plus "done" for a success or "parked" for a failure, atomically.

        Failed results are not kept: the parked entry replaces them, and the id stays free
        for a redelivery.
        """
        result = self._result(result_data) if finish else None
        cron = keep_in_progress is not None

        async def once() -> None:
            await self._finish_once(
                job_id,
                finish,
                result,
                result_data,
                result_timeout_s,
                keep_result_forever,
                incr_score,
                keep_in_progress,
                cron,
            )

        await self._patiently(once)

    async def _patiently(self, attempt: Callable[[], Awaitable[None]]) -> None:
        """Retry a finishing transaction through a Redis outage, up to FINISH_PATIENCE."""
        deadline = time.monotonic() + FINISH_PATIENCE
        delay = RECONNECT_FIRST
        while True:
            try:
                await attempt()
                return
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(RECONNECT_MAX, delay * 2)

    async def _finish_once(
        self,
        job_id: str,
        finish: bool,
        result: JobResult | None,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
        cron: bool,
    ) -> None:
        """One try of the finishing transaction."""
        async with self.pool.pipeline(transaction=True) as tr:
            delete_keys = []
            in_progress_key = in_progress_key_prefix + job_id
            if keep_in_progress is None:
                delete_keys += [in_progress_key]
            else:
                tr.pexpire(in_progress_key, to_ms(keep_in_progress))
            if finish:
                if result_data and result is not None and result.success:
                    expire = None if keep_result_forever else result_timeout_s
                    self._mark_done(tr, job_id, result_data, expire)
                elif not cron:
                    self._park(tr, job_id, result)
                delete_keys += [retry_key_prefix + job_id, job_key_prefix + job_id]
                tr.zrem(abort_jobs_ss, job_id)
                tr.zrem(self.queue_name, job_id)
            elif incr_score:
                tr.zincrby(self.queue_name, incr_score, job_id)
            if delete_keys:
                tr.delete(*delete_keys)
            await tr.execute()

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        """arq's path for jobs that never ran (max tries exceeded, expired, unknown): park them."""
        result = self._result(result_data)

        async def once() -> None:
            await self._fail_once(job_id, result)

        await self._patiently(once)

    async def _fail_once(self, job_id: str, result: JobResult | None) -> None:
        """One try of the failing transaction."""
        async with self.pool.pipeline(transaction=True) as tr:
            tr.delete(
                retry_key_prefix + job_id,
                in_progress_key_prefix + job_id,
                job_key_prefix + job_id,
            )
            tr.zrem(abort_jobs_ss, job_id)
            tr.zrem(self.queue_name, job_id)
            if result is None or result.function not in self._cron_names:
                self._park(tr, job_id, result)
            await tr.execute()

    def _mark_done(self, tr: Any, job_id: str, data: bytes, expire: float | None) -> None:
        """Keep the result, and turn the id's redelivery window into a done key."""
        tr.set(result_key_prefix + job_id, data, px=to_ms(expire))
        keys = (WINDOW_PREFIX + job_id, DONE_PREFIX + job_id, PARKED_KEY)
        tr.eval(MARK_DONE_LUA, len(keys), *keys, job_id)

    def _park(self, tr: Any, job_id: str, result: JobResult | None) -> None:
        """Queue the HSET of the parked entry on the transaction, and say so loudly."""
        entry = self._parked(job_id, result)
        log.error(
            "job %s (%s) failed after %d tries and is parked: %s",
            job_id,
            entry.function,
            entry.tries,
            entry.error.splitlines()[0] if entry.error else "",
        )
        tr.hset(PARKED_KEY, job_id, entry.to_json())
