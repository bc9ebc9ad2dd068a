"""Group commit on the webhook hot path: deliveries waiting together share one script call.

On the real Redis: concurrent deliveries go as one call and each gets its own answer,
duplicates inside a batch are refused, and what is stored is what arq's enqueue stores. With
a stand-in Redis: batches follow the call in flight (no timer), stay within their bounds, and
a failed or silent call fails every delivery in it, never acknowledging any.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import deserialize_job
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app.core.config import Settings
from app.infra.group_commit import GroupCommit, UniqueJob
from app.infra.queue.arq import DONE_PREFIX, WINDOW_PREFIX, ArqQueue
from app.infra.queue.base import QueueUnavailable
from app.infra.runtime import RUNTIME
from app.web.factory import init_app
from tests.conftest import TcpProxy, webhook_headers

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
        assert await asyncio.gather(_deliver(queue, "b"), _deliver(queue, "a")) == [True, False]
    finally:
        await queue.aclose()
        await redis.aclose()


class StandIn:
    """Enough of a Redis client for GroupCommit: records batches, answers as told."""

    job_serializer = None

    def __init__(self, answer: Callable[[list[str]], Any] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.answer = answer or (lambda ids: [1] * len(ids))

    def register_script(self, source: str) -> Callable[..., Any]:
        async def call(keys: list[str], args: list[Any]) -> Any:
            ids = [str(a) for a in args[3:-1:5]]
            self.batches.append(ids)
            await self.release.wait()
            return self.answer(ids)

        return call


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
    intake = GroupCommit(redis)
    first = asyncio.ensure_future(intake.submit(job("a")))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert redis.batches == [["a"]]  # sent at the next tick, no timer
    later = [asyncio.ensure_future(intake.submit(job(i))) for i in ("b", "c", "d")]
    await asyncio.sleep(0.01)
    assert redis.batches == [["a"]]  # one call in flight at a time
    redis.release.set()
    assert await asyncio.gather(first, *later) == [True] * 4
    assert redis.batches == [["a"], ["b", "c", "d"]]
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
    queue = ArqQueue(redis)  # type: ignore[arg-type]
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
    queue = ArqQueue(redis)  # type: ignore[arg-type]
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
    assert intake._sender is not None
    intake._sender.cancel()
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
        return resp.status

    statuses = await asyncio.gather(*(post(i) for i in range(12)))
    assert statuses == [503] * 12
    redis_proxy.restore()
    runtime = client.app[RUNTIME]
    direct = await _pool(redis_url)
    try:
        assert await direct.zcard(default_queue_name) == 0
        assert runtime.queue.intake.calls >= 1  # type: ignore[attr-defined]
    finally:
        await direct.aclose()
