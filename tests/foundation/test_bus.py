"""Both bus implementations: in-process, and Redis pub/sub across separate connections."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from app.infra.bus import LocalBus, RedisBus


async def test_local_bus_fans_out() -> None:
    bus = LocalBus()
    async with bus.subscribe() as a, bus.subscribe() as b:
        await bus.publish({"type": "health_update", "entity_id": 1})
        assert await asyncio.wait_for(a.get(), 1) == {"type": "health_update", "entity_id": 1}
        assert await asyncio.wait_for(b.get(), 1) == {"type": "health_update", "entity_id": 1}
    assert bus.subscriber_count == 0


async def test_slow_subscriber_drops_instead_of_blocking() -> None:
    bus = LocalBus()
    async with bus.subscribe(maxsize=2) as slow, bus.subscribe() as fast:
        for i in range(5):
            await bus.publish({"type": "t", "i": i})
        assert slow.dropped == 3
        got = [await asyncio.wait_for(fast.get(), 1) for _ in range(5)]
        assert [e["i"] for e in got] == [0, 1, 2, 3, 4]


async def test_redis_bus_crosses_processes(redis_url: str) -> None:
    """Two buses on two connections stand for two web processes."""
    r1, r2 = Redis.from_url(redis_url), Redis.from_url(redis_url)
    publisher, receiver = RedisBus(r1, "test:events"), RedisBus(r2, "test:events")
    await publisher.start()
    await receiver.start()
    try:
        async with receiver.subscribe() as sub, publisher.subscribe() as own:
            await publisher.publish({"type": "status_change", "entity_id": 7})
            assert await asyncio.wait_for(sub.get(), 2) == {"type": "status_change", "entity_id": 7}
            assert (await asyncio.wait_for(own.get(), 2))["entity_id"] == 7
    finally:
        await publisher.stop()
        await receiver.stop()
        await r1.aclose()
        await r2.aclose()


async def test_redis_bus_survives_outage(redis_url: str, redis_proxy: object) -> None:
    from tests.conftest import TcpProxy

    assert isinstance(redis_proxy, TcpProxy)
    db_index = redis_url.rsplit("/", 1)[1]
    proxied = Redis.from_url(f"redis://127.0.0.1:{redis_proxy.port}/{db_index}")
    direct = Redis.from_url(redis_url)
    bus = RedisBus(proxied, "test:outage")
    await bus.start()
    try:
        redis_proxy.cut()
        await asyncio.sleep(0.3)
        assert not bus.connected.is_set()
        redis_proxy.restore()
        await asyncio.wait_for(bus.connected.wait(), 15)
        async with bus.subscribe() as sub:
            await direct.publish("test:outage", '{"type": "back"}')
            assert await asyncio.wait_for(sub.get(), 2) == {"type": "back"}
    finally:
        await bus.stop()
        await proxied.aclose()
        await direct.aclose()
