"""Group commit on the webhook hot path: deliveries waiting together share one script call.

On the real Redis: concurrent deliveries go as one call and each gets its own answer,
duplicates inside a batch are refused, and what is stored is what arq's enqueue stores. With
a stand-in Redis: batches follow the call in flight (no timer), stay within their bounds, and
a failed or silent call fails every delivery in it, never acknowledging any.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name, expires_extra_ms, job_key_prefix
from arq.jobs import deserialize_job
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app.core.config import Settings
from app.infra.group_commit import STAGING_PREFIX, GroupCommit, RedisBatches, UniqueJob
from app.infra.queue.arq import DONE_PREFIX, WINDOW_PREFIX, ArqQueue
from app.infra.queue.base import QueueUnavailable
from app.infra.runtime import RUNTIME
from app.web.factory import init_app
from tests.conftest import TcpProxy, webhook_headers
from tests.redis_server import RedisServer

WINDOW = 3 * 24 * 3600.0
BODY = b'{"ref": "refs/heads/main", "commits": []}'


async def _pool(redis_url: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(redis_url))


async def _deliver(queue: ArqQueue, delivery: str) -> bool:
    return await queue.enqueue(
        "process_event",
        "push",
        delivery,
        f"body of {delivery}",
        job_id=f"delivery:{delivery}",
        unique_for=WINDOW,
    )


async def test_concurrent_deliveries_share_one_call_and_are_stored(redis_url: str) -> None:
    redis = await _pool(redis_url)
    queue = ArqQueue(redis)
    try:
        ids = [f"d{i}" for i in range(20)]
        answers = await asyncio.gather(*(_deliver(queue, d) for d in ids))
        assert answers == [True] * 20
        assert queue.intake.calls == 1
        assert await redis.zcard(default_queue_name) == 20
        for delivery in ids:
            raw = await redis.get(job_key_prefix + f"delivery:{delivery}")
            job = deserialize_job(raw)
            assert (job.function, job.args) == (
                "process_event",
                ("push", delivery, f"body of {delivery}"),
            )
            assert 0 < await redis.ttl(WINDOW_PREFIX + f"delivery:{delivery}") <= WINDOW
    finally:
        await queue.aclose()
        await redis.aclose()


async def test_each_delivery_gets_its_own_answer_and_duplicates_in_a_batch_are_refused(
    redis_url: str,
) -> None:
    redis = await _pool(redis_url)
    queue = ArqQueue(redis)
    try:
        assert await _deliver(queue, "pending")  # stored earlier, not handled yet
        await redis.set(DONE_PREFIX + "delivery:handled", 1)  # handled earlier
        batch = ["new1", "pending", "twice", "handled", "twice", "new2"]
        answers = await asyncio.gather(*(_deliver(queue, d) for d in batch))
        assert answers == [True, False, True, False, False, True]
        assert queue.intake.calls == 2  # the lone first delivery, then the six together
        queued = {m.decode() for m in await redis.zrange(default_queue_name, 0, -1)}
        assert queued == {f"delivery:{d}" for d in ("pending", "new1", "twice", "new2")}
    finally:
        await queue.aclose()
        await redis.aclose()


async def test_script_flushed_from_redis_is_loaded_again(redis_url: str) -> None:
    redis = await _pool(redis_url)
    queue = ArqQueue(redis)
    try:
        assert await _deliver(queue, "a")
        await redis.script_flush()
        assert list(await asyncio.gather(_deliver(queue, "b"), _deliver(queue, "a"))) == [
            True,
            False,
        ]
    finally:
        await queue.aclose()
        await redis.aclose()


async def test_staged_payloads_leave_nothing_behind_and_jobs_keep_arqs_ttl(
    redis_url: str,
) -> None:
    redis = await _pool(redis_url)
    queue = ArqQueue(redis)
    try:
        assert await _deliver(queue, "pending")
        await redis.set(DONE_PREFIX + "delivery:handled", 1)
        batch = ["new", "pending", "twice", "handled", "twice"]
        assert await asyncio.gather(*(_deliver(queue, d) for d in batch)) == [
            True,
            False,
            True,
            False,
            False,
        ]
        assert await redis.keys(STAGING_PREFIX + "*") == []
        for delivery in ("pending", "new", "twice"):
            ttl = await redis.pttl(job_key_prefix + f"delivery:{delivery}")
            assert expires_extra_ms - 60_000 < ttl <= expires_extra_ms
    finally:
        await queue.aclose()
        await redis.aclose()


async def test_a_stale_result_is_dropped_and_each_queue_gets_its_jobs(redis_url: str) -> None:
    """One batch holding jobs of two queues, one of them with a result left from before."""
    redis = await _pool(redis_url)
    intake = GroupCommit(RedisBatches(redis))
    prefix = "test:stale:"
    jobs = [replace(job(prefix + n), queue=prefix + q) for n, q in (("a", "q1"), ("b", "q2"))]
    jobs.append(replace(job(prefix + "c"), queue=prefix + "q1"))
    try:
        await redis.set("result:" + prefix + "a", b"an old result")
        assert await asyncio.gather(*(intake.submit(j) for j in jobs)) == [True] * 3
        assert intake.calls == 1
        assert await redis.exists("result:" + prefix + "a") == 0
        assert await redis.zrange(prefix + "q1", 0, -1) == [b"test:stale:a", b"test:stale:c"]
        assert await redis.zrange(prefix + "q2", 0, -1) == [b"test:stale:b"]
        assert await redis.get("job:" + prefix + "b") == b"x" * 10
    finally:
        await intake.aclose()
        await redis.aclose()


async def test_one_delivery_in_two_calls_in_flight_is_stored_once(redis_url: str) -> None:
    redis = await _pool(redis_url)
    queue = ArqQueue(redis)
    try:
        first = asyncio.ensure_future(_deliver(queue, "again"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        second = asyncio.ensure_future(_deliver(queue, "again"))
        assert sorted(await asyncio.gather(first, second)) == [False, True]
        assert queue.intake.calls == 2
        assert await redis.zcard(default_queue_name) == 1
        assert await redis.keys(STAGING_PREFIX + "*") == []
    finally:
        await queue.aclose()
        await redis.aclose()


async def test_a_failing_script_stores_nothing_acknowledged_and_leaves_no_staged_payload(
    redis_url: str,
) -> None:
    redis = await _pool(redis_url)
    queue = ArqQueue(redis)
    try:
        await redis.set(default_queue_name, "not a sorted set")  # ZADD would fail
        results = await asyncio.gather(
            *(_deliver(queue, d) for d in ("a", "b")), return_exceptions=True
        )
        assert all(isinstance(r, QueueUnavailable) for r in results), results
        assert await redis.keys(STAGING_PREFIX + "*") == []
        assert await redis.keys(job_key_prefix + "*") == []  # nothing half-stored
        await redis.delete(default_queue_name)
        assert await _deliver(queue, "c")  # the connection is still good for the next batch
        assert await _deliver(queue, "a")  # a redelivery is stored, not refused
    finally:
        await queue.aclose()
        await redis.aclose()


async def test_a_connection_dead_since_a_redis_restart_is_replaced_not_a_503(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    redis = await _pool(server.url())
    queue = ArqQueue(redis)
    try:
        assert await _deliver(queue, "before")
        server.kill()
        server.start()
        await asyncio.sleep(0.1)  # the old connection has seen its end
        assert await _deliver(queue, "after")
        assert await _deliver(queue, "before") is False  # stored before the kill, still there
    finally:
        await queue.aclose()
        await redis.aclose()
        server.stop()


async def test_every_acknowledged_delivery_survives_kill_9_of_redis(tmp_path: Path) -> None:
    """Producers keep two calls in flight when redis-server (appendfsync always) is killed:
    whatever was answered True is in the queue after the restart, payload and all."""
    server = RedisServer(tmp_path / "redis").start()
    redis = await _pool(server.url())
    queue = ArqQueue(redis)
    acknowledged: list[str] = []
    enough = asyncio.Event()

    async def producer(n: int) -> None:
        for i in range(10_000):
            try:
                if await _deliver(queue, f"p{n}-{i}"):
                    acknowledged.append(f"p{n}-{i}")
            except QueueUnavailable:
                return
            if len(acknowledged) >= 300:
                enough.set()

    try:
        producers = [asyncio.ensure_future(producer(n)) for n in range(20)]
        await asyncio.wait_for(enough.wait(), 20)
        assert queue.intake.calls > 2
        server.kill()
        await asyncio.gather(*producers)
        server.start()
        after = await _pool(server.url())
        try:
            queued = {m.decode() for m in await after.zrange(default_queue_name, 0, -1)}
            assert {f"delivery:{d}" for d in acknowledged} <= queued
            for delivery in acknowledged[-5:]:
                job = deserialize_job(await after.get(job_key_prefix + f"delivery:{delivery}"))
                assert job.args == ("push", delivery, f"body of {delivery}")
        finally:
            await after.aclose()
    finally:
        await queue.aclose()
        await redis.aclose()
        server.stop()


class StandIn:
    """Enough of a Redis for GroupCommit (its BatchStore): records batches, answers as told."""

    job_serializer = None

    def __init__(self, answer: Callable[[list[str]], Any] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.answer = answer or (lambda ids: [1] * len(ids))

    async def store(self, jobs: Sequence[UniqueJob]) -> list[Any]:
        ids = [j.job_id for j in jobs]
        self.batches.append(ids)
        await self.release.wait()
        return list(self.answer(ids))

    async def aclose(self) -> None:
        pass


def job(job_id: str, size: int = 10) -> UniqueJob:
    return UniqueJob(
        job_id,
        "q",
        "done:" + job_id,
        "window:" + job_id,
        "job:" + job_id,
        "result:" + job_id,
        60,
        1000,
        1,
        b"x" * size,
    )


async def test_deliveries_arriving_during_a_call_go_together_in_the_next() -> None:
    redis = StandIn()
    redis.release.clear()
    intake = GroupCommit(redis, max_in_flight=1)
    first = asyncio.ensure_future(intake.submit(job("a")))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert redis.batches == []  # one tick to see whether the batch still grows
    await asyncio.sleep(0)
    assert redis.batches == [["a"]]  # then sent: a few loop ticks, no timer
    later = [asyncio.ensure_future(intake.submit(job(i))) for i in ("b", "c", "d")]
    await asyncio.sleep(0.01)
    assert redis.batches == [["a"]]  # one call in flight at a time
    redis.release.set()
    assert await asyncio.gather(first, *later) == [True] * 4
    assert redis.batches == [["a"], ["b", "c", "d"]]
    await intake.aclose()


class Gated:
    """A BatchStore whose every call waits for its own gate: calls land in any order."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gates: list[asyncio.Event] = []

    async def store(self, jobs: Sequence[UniqueJob]) -> list[Any]:
        gate = asyncio.Event()
        self.batches.append([j.job_id for j in jobs])
        self.gates.append(gate)
        await gate.wait()
        return [1] * len(jobs)

    async def aclose(self) -> None:
        pass


async def _ticks(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_two_calls_in_flight_and_each_delivery_waits_for_its_own() -> None:
    store = Gated()
    intake = GroupCommit(store)
    first = asyncio.ensure_future(intake.submit(job("a")))
    await _ticks()
    second = [asyncio.ensure_future(intake.submit(job(i))) for i in ("b", "c")]
    await _ticks()
    assert store.batches == [["a"], ["b", "c"]]  # the second went while the first was out
    third = [asyncio.ensure_future(intake.submit(job(i))) for i in ("d", "e")]
    await _ticks()
    assert store.batches == [["a"], ["b", "c"]]  # both slots taken: d and e wait

    store.gates[1].set()  # the later call lands first
    assert await asyncio.gather(*second) == [True, True]
    await _ticks()
    assert not first.done()  # its own call has not returned: not acknowledged
    assert store.batches == [["a"], ["b", "c"], ["d", "e"]]  # the free slot went to d and e

    store.gates[2].set()
    assert await asyncio.gather(*third) == [True, True]
    assert not first.done()
    store.gates[0].set()
    assert await first is True
    await intake.aclose()
    assert intake.calls == 3 and not intake._in_flight


async def test_a_second_call_waits_until_it_would_carry_as_much_as_the_first() -> None:
    store = Gated()
    intake = GroupCommit(store)
    first = [asyncio.ensure_future(intake.submit(job(i))) for i in ("a", "b", "c")]
    await _ticks()
    assert store.batches == [["a", "b", "c"]]
    later = [asyncio.ensure_future(intake.submit(job(i))) for i in ("d", "e")]
    await _ticks()
    assert store.batches == [["a", "b", "c"]]  # two would cost an fsync of their own
    later.append(asyncio.ensure_future(intake.submit(job("f"))))
    await _ticks()
    assert store.batches == [["a", "b", "c"], ["d", "e", "f"]]  # three: worth a second call
    for gate in store.gates:
        gate.set()
    assert await asyncio.gather(*first, *later) == [True] * 6
    await intake.aclose()


async def test_a_failed_call_fails_only_its_own_deliveries() -> None:
    class FailsFirst(Gated):
        async def store(self, jobs: Sequence[UniqueJob]) -> list[Any]:
            answers = await super().store(jobs)
            if len(self.batches) == 2 and jobs[0].job_id == "a":
                raise RedisConnectionError("connection reset")
            return answers

    store = FailsFirst()
    intake = GroupCommit(store)
    first = asyncio.ensure_future(intake.submit(job("a")))
    await _ticks()
    second = asyncio.ensure_future(intake.submit(job("b")))
    await _ticks()
    assert store.batches == [["a"], ["b"]]
    store.gates[0].set()
    with pytest.raises(RedisConnectionError):
        await first
    store.gates[1].set()
    assert await second is True


async def test_a_call_takes_deliveries_that_keep_arriving_for_a_tick_or_two() -> None:
    store = Gated()
    intake = GroupCommit(store)
    burst = [asyncio.ensure_future(intake.submit(job("a")))]
    await asyncio.sleep(0)  # a's call is created; it looks at the batch on the next tick
    burst.append(asyncio.ensure_future(intake.submit(job("b"))))
    await asyncio.sleep(0)
    burst.append(asyncio.ensure_future(intake.submit(job("c"))))
    await _ticks(5)
    assert store.batches == [["a", "b", "c"]]  # one call, not one per tick of the burst
    store.gates[0].set()
    assert await asyncio.gather(*burst) == [True] * 3
    await intake.aclose()


async def test_batches_stay_within_their_bounds() -> None:
    redis = StandIn()
    intake = GroupCommit(redis, max_batch=3, max_bytes=25)
    sizes = [10, 10, 10, 30, 1, 1, 1, 1]
    names = [f"j{i}" for i in range(len(sizes))]
    results = await asyncio.gather(
        *(intake.submit(job(n, s)) for n, s in zip(names, sizes, strict=True))
    )
    assert results == [True] * len(sizes)
    # two 10-byte payloads fill 25 bytes; a larger one goes alone; then three by count
    assert redis.batches == [["j0", "j1"], ["j2"], ["j3"], ["j4", "j5", "j6"], ["j7"]]


@pytest.mark.parametrize(
    "error", [RedisConnectionError("connection reset"), ResponseError("OOM command not allowed")]
)
async def test_a_failed_call_fails_every_delivery_in_it(error: Exception) -> None:
    def fail(ids: list[str]) -> Any:
        raise error

    redis = StandIn(fail)
    queue = ArqQueue(redis, batches=redis)  # type: ignore[arg-type]
    results = await asyncio.gather(
        *(_deliver(queue, d) for d in ("a", "b", "c")), return_exceptions=True
    )
    assert redis.batches == [["delivery:a", "delivery:b", "delivery:c"]]
    assert all(isinstance(r, QueueUnavailable) for r in results), results
    # the next delivery gets a fresh call
    redis.answer = lambda ids: [1] * len(ids)
    assert await _deliver(queue, "d")


async def test_a_call_redis_never_answers_fails_its_deliveries_in_time() -> None:
    redis = StandIn()
    redis.release.clear()
    queue = ArqQueue(redis, batches=redis)  # type: ignore[arg-type]
    queue.intake.timeout = 0.05
    results = await asyncio.gather(
        *(_deliver(queue, d) for d in ("a", "b")), return_exceptions=True
    )
    assert all(isinstance(r, QueueUnavailable) for r in results), results


async def test_a_cancelled_batcher_leaves_nobody_waiting() -> None:
    redis = StandIn()
    redis.release.clear()
    intake = GroupCommit(redis)
    waiting = [asyncio.ensure_future(intake.submit(job(i))) for i in ("a", "b")]
    await asyncio.sleep(0.01)
    assert len(intake._in_flight) == 1
    for call in intake._in_flight:
        call.cancel()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results), results


async def test_redis_gone_mid_burst_answers_every_delivery_503_never_202(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    pg_url: str,
    redis_url: str,
    redis_proxy: TcpProxy,
) -> None:
    db_index = redis_url.rsplit("/", 1)[1]
    settings = make_settings(
        **app_env, DATABASE_URL=pg_url, REDIS_URL=f"redis://127.0.0.1:{redis_proxy.port}/{db_index}"
    )
    client = await aiohttp_client(init_app(settings, run_jobs=False))
    redis_proxy.cut()

    async def post(i: int) -> int:
        headers = webhook_headers("push", BODY, delivery=f"burst-{i}")
        resp = await client.post("/webhook/github", data=BODY, headers=headers)
        return int(resp.status)

    statuses = await asyncio.gather(*(post(i) for i in range(12)))
    assert statuses == [503] * 12
    redis_proxy.restore()
    runtime = client.app[RUNTIME]
    direct = await _pool(redis_url)
    try:
        assert await direct.zcard(default_queue_name) == 0
        assert runtime.queue.intake.calls >= 1
    finally:
        await direct.aclose()
