"""Web plumbing: liveness, readiness in both modes and under a Redis outage, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from app.core.config import Settings
from app.web.factory import init_app
from tests.conftest import TcpProxy


async def test_healthz_and_metrics(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(init_app(make_settings()))
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json()) == {"status": "ok"}
    assert resp.headers["X-Request-Id"]
    metrics = await client.get("/metrics")
    assert metrics.status == 200
    assert metrics.content_type == "text/plain"
    assert 'tamagitto_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        await metrics.text()
    )


async def test_readyz_embedded(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> None:
    client = await aiohttp_client(init_app(make_settings()))
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"database": "ok"}


async def test_readyz_names_redis_when_it_drops(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    pg_url: str,
    redis_url: str,
    redis_proxy: TcpProxy,
) -> None:
    db_index = redis_url.rsplit("/", 1)[1]
    settings = make_settings(
        DATABASE_URL=pg_url.replace("+asyncpg", ""),
        REDIS_URL=f"redis://127.0.0.1:{redis_proxy.port}/{db_index}",
    )
    client = await aiohttp_client(init_app(settings))
    ok = await client.get("/readyz")
    assert ok.status == 200
    assert (await ok.json())["checks"] == {"database": "ok", "redis": "ok"}

    redis_proxy.cut()
    down = await client.get("/readyz")
    body = await down.json()
    assert down.status == 503
    assert body["failing"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert (await client.get("/healthz")).status == 200  # the process keeps serving

    redis_proxy.restore()
    for _ in range(50):
        if (await client.get("/readyz")).status == 200:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("readyz did not recover after Redis came back")
