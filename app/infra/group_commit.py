"""Group commit for the webhook hot path: one Redis script call stores every waiting delivery.

Production Redis runs with `appendfsync always`: it fsyncs once per event-loop iteration, and
an fsync on this class of disk costs milliseconds whatever it covers. Throughput therefore
depends on how many deliveries each iteration carries. Two things keep that number small when
every delivery (or every tick's pipeline) is its own command:

- Redis reads at most 16 KB per client per iteration, unless the argument it is reading is
  32 KB or more, which it then reads whole. A pipeline of ten ~9 KB EVALSHAs on one connection
  takes six iterations, so six fsyncs, to arrive.
- redis-py's pipelines send SCRIPT EXISTS before any pipeline holding a script: one more
  round trip, and so one more fsync wait, per delivery.

So each web process keeps at most one call in flight. Deliveries that arrive meanwhile wait,
and the moment it returns all of them go as one EVALSHA whose payloads travel in a single
argument (read whole by Redis, stored by one fsync). There is no timer: a delivery arriving at
an idle process goes at the next loop tick. Each delivery's answer is its own element of the
script's reply; a failure of the call fails every delivery in it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Per job, KEYS: done, window, arq job, arq result, queue (5 keys); ARGV: window (s), job ttl
# (ms), score (ms), job id, payload length (5 args). The last ARGV holds every payload, back to
# back. In order, each job is refused (0) while its id is done or its job pending, else its
# window is set, a stale result dropped, the job stored and queued (1): a second job with an
# id stored earlier in the same batch is refused like any duplicate.
BATCH_ENQUEUE_LUA = """
local blob = ARGV[#ARGV]
local answers = {}
local at = 1
for i = 0, #KEYS / 5 - 1 do
  local k, a = i * 5, i * 5
  local size = tonumber(ARGV[a + 5])
  if redis.call('EXISTS', KEYS[k + 1], KEYS[k + 3]) > 0 then
    answers[i + 1] = 0
  else
    redis.call('SET', KEYS[k + 2], ARGV[a + 1], 'EX', ARGV[a + 1])
    redis.call('DEL', KEYS[k + 4])
    redis.call('PSETEX', KEYS[k + 3], ARGV[a + 2], string.sub(blob, at, at + size - 1))
    redis.call('ZADD', KEYS[k + 5], ARGV[a + 3], ARGV[a + 4])
    answers[i + 1] = 1
  end
  at = at + size
end
return answers
"""

# One call carries at most this much, so a burst cannot build one huge command; a single
# larger delivery still goes, alone.
MAX_BATCH = 256
MAX_BATCH_BYTES = 4 * 1024 * 1024
# A call Redis never answers must not hold the whole process's intake: its deliveries get a
# 503 (GitHub allows 10 s), and the next call goes on a fresh connection.
CALL_TIMEOUT = 5.0


@dataclass(frozen=True)
class UniqueJob:
    """One delivery's share of a batch: its keys, its small arguments and its payload."""

    job_id: str
    queue: str
    done_key: str
    window_key: str
    job_key: str
    result_key: str
    window_s: int
    ttl_ms: int
    score_ms: int
    payload: bytes

    def keys(self) -> list[str]:
        """The five KEYS the script reads and writes for this job."""
        return [self.done_key, self.window_key, self.job_key, self.result_key, self.queue]

    def args(self) -> list[Any]:
        """The five ARGV entries before the shared payload blob."""
        return [self.window_s, self.ttl_ms, self.score_ms, self.job_id, len(self.payload)]


@dataclass
class _Waiting:
    job: UniqueJob
    answer: asyncio.Future[bool]


@dataclass
class GroupCommit:
    """Per-process batcher: at most one script call in flight, the rest wait for the next."""

    redis: Any
    max_batch: int = MAX_BATCH
    max_bytes: int = MAX_BATCH_BYTES
    timeout: float = CALL_TIMEOUT
    calls: int = 0
    _waiting: list[_Waiting] = field(default_factory=list)
    _sender: asyncio.Task[None] | None = None
    _script: Any = None

    async def submit(self, job: UniqueJob) -> bool:
        """True once Redis has stored the job (and fsynced it), False for a duplicate id.

        Raises the call's error when the batch holding this job failed: nothing says it was
        stored, so the caller must not acknowledge it.
        """
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(job, answer))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all(), name="group-commit")
        return await answer

    async def aclose(self) -> None:
        """Let the call in flight and the deliveries already waiting finish (shutdown drain)."""
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)

    async def _send_all(self) -> None:
        """Send batches back to back until nobody waits; started by the first submit."""
        try:
            while self._waiting:
                await self._send(self._take())
        finally:
            self._sender = None
            # Only when this task was cancelled: nobody may wait for a call that never comes.
            stranded, self._waiting = self._waiting, []
            _fail(stranded, ConnectionError("the intake batcher stopped"))

    def _take(self) -> list[_Waiting]:
        """The oldest waiting jobs, within the batch's count and byte bounds (at least one)."""
        size, count = 0, 0
        for waiting in self._waiting:
            size += len(waiting.job.payload)
            if count and (count >= self.max_batch or size > self.max_bytes):
                break
            count += 1
        batch, self._waiting = self._waiting[:count], self._waiting[count:]
        return batch

    async def _send(self, batch: list[_Waiting]) -> None:
        """One EVALSHA for the batch; every waiter gets its own answer or the call's error."""
        try:
            answers = await self._call([w.job for w in batch])
        except asyncio.CancelledError:
            _fail(batch, ConnectionError("the intake batcher stopped"))
            raise
        except Exception as exc:
            log.debug("group commit of %d deliveries failed: %r", len(batch), exc)
            _fail(batch, exc)
            return
        for waiting, stored in zip(batch, answers, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(bool(stored))

    async def _call(self, jobs: list[UniqueJob]) -> list[Any]:
        """The script call itself, bounded in time; its reply has one answer per job."""
        keys: list[str] = []
        args: list[Any] = []
        for job in jobs:
            keys += job.keys()
            args += job.args()
        args.append(b"".join(job.payload for job in jobs))
        if self._script is None:
            self._script = self.redis.register_script(BATCH_ENQUEUE_LUA)
        self.calls += 1
        async with asyncio.timeout(self.timeout):
            answers = await self._script(keys=keys, args=args)
        if not isinstance(answers, list) or len(answers) != len(jobs):
            raise RuntimeError(f"the batch script answered {answers!r} for {len(jobs)} jobs")
        return answers


def _fail(batch: list[_Waiting], exc: BaseException) -> None:
    """Every delivery of a failed call gets the error, so none of them is acknowledged."""
    for waiting in batch:
        if not waiting.answer.done():
            waiting.answer.set_exception(exc)
