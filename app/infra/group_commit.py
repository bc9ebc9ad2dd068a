"""Group commit for the webhook hot path: one Redis transaction stores every waiting delivery.

Production Redis runs with `appendfsync always`: it fsyncs once per event-loop iteration, and
an fsync on this class of disk costs milliseconds whatever it covers. Throughput therefore
depends on how many deliveries each fsync carries, and on what Redis does per delivery
(Redis is one thread: its CPU is the intake's ceiling).

- A batch is one MULTI/EXEC, written to the socket in one go, encoded here once (no
  redis-py pipeline: it parses a reply per command and sends SCRIPT EXISTS before any
  script). Queued commands run, and reach the append-only file, only at EXEC: one fsync
  stores the batch however many reads it took to arrive. Five replies come back whatever the
  batch's size.
- Payloads never pass through Lua. Handing ~9 KB strings to a script costs Redis about ten
  times what plain commands do (each becomes a Lua string), so the payloads go in one MSET,
  each under a staging key of its own, and the script, given only keys and small numbers,
  decides per delivery: a new one's staged payload is RENAMEd into arq's job key (with arq's
  TTL) and queued, a duplicate's is left for the DEL that ends the transaction. It goes as
  EVAL: nothing to reload after a Redis restart.
- Up to `max_in_flight` (2) batches are in flight, each on a connection of its own, so one
  fsyncs while the next is on its way; the second goes only once it would carry as many
  deliveries as the first (smaller ones under load would each cost a whole fsync). Deliveries
  that wait go together as soon as a call lands. There is no timer: a call takes its batch
  once a loop tick passes without it growing (at most two ticks), so a delivery arriving at
  an idle process goes one tick later.

Each delivery's answer is its own element of its batch's script reply, given only when that
batch's EXEC returns: Redis answers after the fsync covering it, so an answer means stored,
whatever the other batch in flight is doing. A failure of the call fails every delivery in it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger(__name__)

# Per job, KEYS: done, window, arq job, arq result, queue, staging (6 keys); ARGV: window (s),
# score (ms), job id, job ttl (ms) (4 args). In order, each job is refused (0) while its id is
# done or its job pending, else its window is set and its staged payload renamed into the job
# key (with arq's TTL) (1): a second job with an id stored earlier in the same batch, or in a
# batch that ran before, is refused like any duplicate. Then, once for the batch, the stored
# jobs' stale results are dropped and the jobs queued (one DEL, one ZADD per queue: a command
# from Lua costs more than a member of a command). A queue key of another type fails the
# script before it writes anything: a script is not rolled back, and a job stored but never
# queued would refuse its redeliveries as duplicates.
BATCH_ENQUEUE_LUA = """
local answers, results, queued = {}, {}, {}
for i = 0, #KEYS / 6 - 1 do
  local queue = KEYS[i * 6 + 5]
  if queued[queue] == nil then
    local kind = redis.call('TYPE', queue).ok
    if kind ~= 'zset' and kind ~= 'none' then
      return redis.error_reply('WRONGTYPE the queue ' .. queue .. ' is a ' .. kind)
    end
    queued[queue] = {}
  end
end
for i = 0, #KEYS / 6 - 1 do
  local k, a = i * 6, i * 4
  if redis.call('EXISTS', KEYS[k + 1], KEYS[k + 3]) > 0 then
    answers[i + 1] = 0
  else
    redis.call('SET', KEYS[k + 2], ARGV[a + 1], 'EX', ARGV[a + 1])
    redis.call('RENAME', KEYS[k + 6], KEYS[k + 3])
    redis.call('PEXPIRE', KEYS[k + 3], ARGV[a + 4])
    results[#results + 1] = KEYS[k + 4]
    local members = queued[KEYS[k + 5]]
    members[#members + 1] = ARGV[a + 2]
    members[#members + 1] = ARGV[a + 3]
    answers[i + 1] = 1
  end
end
if #results > 0 then
  redis.call('DEL', unpack(results))
end
for queue, members in pairs(queued) do
  if #members > 0 then
    redis.call('ZADD', queue, unpack(members))
  end
end
return answers
"""
# Where a payload waits for the script, inside one transaction: the transaction's last command
# deletes every staging key left (a duplicate's, or all of them if the script failed).
STAGING_PREFIX = "tamagitto:intake:"
# MULTI's +OK, +QUEUED for MSET, EVAL and DEL, then EXEC's array.
REPLIES = 5

# One call carries at most this much, so a burst cannot build one huge command; a single
# larger delivery still goes, alone.
MAX_BATCH = 256
MAX_BATCH_BYTES = 4 * 1024 * 1024
# Two: one batch fsyncing in Redis while the next travels. More only makes batches smaller.
MAX_IN_FLIGHT = 2
# A call about to take its batch waits one more loop tick while the batch is still growing,
# at most this many: requests of one burst arrive over a few ticks, and every batch costs
# Redis about 300 us of CPU (its fsync) on top of about 26 us per delivery.
SETTLE_TICKS = 2
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

    def keys(self, staging: str) -> list[str]:
        """The six KEYS the script reads and writes for this job."""
        return [self.done_key, self.window_key, self.job_key, self.result_key, self.queue, staging]

    def args(self) -> list[str]:
        """The four ARGV entries the script reads for this job."""
        return [str(self.window_s), str(self.score_ms), self.job_id, str(self.ttl_ms)]


class BatchStore(Protocol):
    """Stores a batch atomically and answers 1 (stored) or 0 (duplicate) per job, in order."""

    async def store(self, jobs: Sequence[UniqueJob]) -> list[Any]: ...

    async def aclose(self) -> None: ...


def _command(out: list[bytes], *args: str | bytes) -> None:
    """Append one Redis command in RESP (an array of bulk strings) to `out`, uncopied."""
    out.append(b"*%d\r\n" % len(args))
    for arg in args:
        raw = arg.encode() if isinstance(arg, str) else arg
        out += (b"$%d\r\n" % len(raw), raw, b"\r\n")


def encode_batch(jobs: Sequence[UniqueJob], staging: Sequence[str]) -> bytes:
    """MULTI, one MSET of every payload under its staging key, the script, DEL of the staging
    keys, EXEC: one write (joined once), five replies whatever the batch's size."""
    payloads: list[str | bytes] = []
    keys: list[str] = []
    args: list[str] = []
    for job, key in zip(jobs, staging, strict=True):
        payloads += (key, job.payload)
        keys += job.keys(key)
        args += job.args()
    out: list[bytes] = []
    _command(out, "MULTI")
    _command(out, "MSET", *payloads)
    _command(out, "EVAL", BATCH_ENQUEUE_LUA, str(len(keys)), *keys, *args)
    _command(out, "DEL", *staging)
    _command(out, "EXEC")
    return b"".join(out)


def _answers(executed: Any, count: int) -> list[Any]:
    """The script's answers out of EXEC's reply (MSET's, the script's, DEL's)."""
    answers = executed[1] if isinstance(executed, list) and len(executed) == 3 else executed
    if isinstance(answers, Exception):
        raise answers
    if not isinstance(answers, list) or len(answers) != count:
        raise RuntimeError(f"the batch transaction answered {executed!r} for {count} jobs")
    return answers


class RedisBatches:
    """The wire: each batch is one transaction on a connection of its own.

    The connections are this object's, not redis-py's pool's: the pool checks every connection
    it lends for unread data, an extra loop iteration per batch. Ours are never lent with
    replies pending: on any error, timeout or cancellation the connection is dropped.
    """

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._tag = os.urandom(6).hex()
        self._seq = itertools.count()
        self._idle: list[Any] = []

    async def store(self, jobs: Sequence[UniqueJob]) -> list[Any]:
        """Send the batch and read its five replies; the script's answers, one per job."""
        staging = [f"{STAGING_PREFIX}{self._tag}:{next(self._seq)}" for _ in jobs]
        replies = await self._exchange(encode_batch(jobs, staging))
        return _answers(replies[-1], len(jobs))

    async def aclose(self) -> None:
        """Close the idle connections (a call in flight closes its own on the way out)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()

    async def _exchange(self, command: bytes) -> list[Any]:
        """On an idle connection, or a new one when that fails to carry the call at all.

        An idle connection may have died with a restarted Redis. Sending the batch again on a
        new one is safe even if the first copy was stored: the script refuses a job whose key
        exists, and Redis fsyncs a write before answering any later command.
        """
        if self._idle:
            try:
                return await self._on(self._idle.pop(), command)
            except (RedisConnectionError, OSError) as exc:
                log.info("group commit: idle Redis connection failed (%r); new one", exc)
        return await self._on(self.redis.connection_pool.make_connection(), command)

    async def _on(self, connection: Any, command: bytes) -> list[Any]:
        """One write, then the replies in order (an error reply raises)."""
        try:
            await connection.send_packed_command(command, check_health=False)
            replies = [await connection.read_response() for _ in range(REPLIES)]
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        self._idle.append(connection)
        return replies


@dataclass
class _Waiting:
    job: UniqueJob
    answer: asyncio.Future[bool]


@dataclass
class GroupCommit:
    """Per-process batcher: up to `max_in_flight` calls out, the rest wait for the next."""

    batches: BatchStore
    max_batch: int = MAX_BATCH
    max_bytes: int = MAX_BATCH_BYTES
    max_in_flight: int = MAX_IN_FLIGHT
    timeout: float = CALL_TIMEOUT
    calls: int = 0
    _waiting: list[_Waiting] = field(default_factory=list)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    _starting: asyncio.Task[None] | None = None
    _carrying: dict[asyncio.Task[None], int] = field(default_factory=dict)

    async def submit(self, job: UniqueJob) -> bool:
        """True once Redis has stored the job (and fsynced it), False for a duplicate id.

        Raises the call's error when the batch holding this job failed: nothing says it was
        stored, so the caller must not acknowledge it.
        """
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(job, answer))
        self._launch()
        return await answer

    async def aclose(self) -> None:
        """Let the calls in flight and the deliveries already waiting finish (shutdown drain)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.batches.aclose()

    def _launch(self) -> None:
        """Start a call if a slot is free and none is about to take the waiting deliveries.

        Beside calls in flight, only once as many deliveries wait as the largest of them
        carries: a smaller batch would cost Redis a whole fsync (and this process a round
        trip) for less, and under load that splits batches ever smaller. The call takes its
        batch at its first step, the next loop tick: deliveries of this tick go with it.
        """
        if self._starting is not None or len(self._in_flight) >= self.max_in_flight:
            return
        if self._carrying and len(self._waiting) < max(self._carrying.values()):
            return
        task = asyncio.create_task(self._send_next(), name="group-commit")
        self._starting = task
        self._in_flight.add(task)
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        """A call returned (or was cancelled): its slot goes to whoever waits."""
        self._in_flight.discard(task)
        self._carrying.pop(task, None)
        if self._starting is task:
            self._starting = None
        if self._waiting:
            self._launch()

    async def _send_next(self) -> None:
        """Take the oldest waiting deliveries once they stop growing; the rest get the next
        free slot."""
        seen = 0
        for _ in range(SETTLE_TICKS):
            if len(self._waiting) in (seen, 0) or len(self._waiting) >= self.max_batch:
                break
            seen = len(self._waiting)
            await asyncio.sleep(0)
        self._starting = None
        batch = self._take()
        task = asyncio.current_task()
        if task is not None:
            self._carrying[task] = len(batch)
        if self._waiting:
            self._launch()
        if batch:
            await self._send(batch)

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
        """One transaction for the batch; every waiter gets its own answer or the call's error."""
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
        """The store call itself, bounded in time; its reply has one answer per job."""
        self.calls += 1
        async with asyncio.timeout(self.timeout):
            answers = await self.batches.store(jobs)
        if not isinstance(answers, list) or len(answers) != len(jobs):
            raise RuntimeError(f"the batch script answered {answers!r} for {len(jobs)} jobs")
        return answers


def _fail(batch: list[_Waiting], exc: BaseException) -> None:
    """Every delivery of a failed call gets the error, so none of them is acknowledged."""
    for waiting in batch:
        if not waiting.answer.done():
            waiting.answer.set_exception(exc)
