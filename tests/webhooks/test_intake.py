"""The acknowledge path: every outcome of the table, in embedded and production mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from arq.jobs import deserialize_job
from redis.asyncio import Redis
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.models import Job
from app.infra.runtime import RUNTIME
from app.web.factory import init_app
from tests.conftest import TcpProxy, example, sign, webhook_headers

PUSH = json.dumps(example("push")).encode()


@pytest.fixture(params=["embedded", "production"])
async def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client(
    mode: str,
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    pg_url: str,
    redis_url: str,
) -> Any:
    """An app whose jobs are not run, so what was queued can be counted."""
    env = dict(app_env)
    if mode == "production":
        env["DATABASE_URL"] = pg_url
        env["REDIS_URL"] = redis_url
    return await aiohttp_client(init_app(make_settings(**env), run_jobs=False))


async def queued(client: Any) -> int:
    """How many jobs the app stored."""
    runtime = client.app[RUNTIME]
    if runtime.redis is not None:
        return int(await runtime.redis.zcard("arq:queue"))
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


async def stored_body(client: Any, delivery: str) -> str:
    """The body the app stored for a delivery (the job's third argument)."""
    runtime = client.app[RUNTIME]
    if runtime.redis is not None:
        job = deserialize_job(await runtime.redis.get(f"arq:job:delivery:{delivery}"))
        return str(job.args[2])
    async with runtime.sessionmaker() as session:
        row = await session.scalar(select(Job).where(Job.id == f"delivery:{delivery}"))
        assert row is not None
        return str(row.args[2])


async def post(
    client: Any, body: bytes, headers: dict[str, str], path: str = "/webhook/github"
) -> tuple[int, dict[str, Any]]:
    resp = await client.post(path, data=body, headers=headers)
    return resp.status, await resp.json()


async def test_push_is_accepted_on_both_paths(client: Any) -> None:
    status, body = await post(client, PUSH, webhook_headers("push", PUSH))
    assert (status, body["queued"]) == (202, True)
    status, _ = await post(client, PUSH, webhook_headers("push", PUSH), "/api/github/webhooks")
    assert status == 202
    assert await queued(client) == 2


async def test_wrong_and_missing_signature(client: Any) -> None:
    headers = webhook_headers("push", PUSH)
    headers["X-Hub-Signature-256"] = sign(PUSH, "another-secret")
    status, body = await post(client, PUSH, headers)
    assert (status, body["error"]) == (401, "webhook_verification_failed")
    assert set(body) == {"error", "message", "timestamp"}
    del headers["X-Hub-Signature-256"]
    status, body = await post(client, PUSH, headers)
    assert (status, body["error"]) == (401, "webhook_verification_failed")
    headers["X-Hub-Signature"] = "sha1=" + "0" * 40  # the deprecated sha1 header is not enough
    status, _ = await post(client, PUSH, headers)
    assert status == 401
    assert await queued(client) == 0


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_missing_headers(client: Any, missing: str) -> None:
    headers = webhook_headers("push", PUSH)
    del headers[missing]
    status, body = await post(client, PUSH, headers)
    assert status == 400 and missing in body["message"]
    assert await queued(client) == 0


async def test_body_that_is_not_json(client: Any) -> None:
    body = b"payload=%7B%7D"
    status, answer = await post(client, body, webhook_headers("push", body))
    assert status == 400 and "JSON" in answer["message"]
    assert await queued(client) == 0


async def test_oversized_body_by_content_length(client: Any) -> None:
    """Refused from the header alone: the 26 MB are never sent, never read."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    headers = webhook_headers("push", b"{}")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(
        f"POST /webhook/github HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {26 * 1024**2}\r\n"
        "\r\n{}".encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert b" 413 " in status_line
    assert await queued(client) == 0


async def test_oversized_chunked_body(client: Any) -> None:
    """Without a length, reading stops as soon as the body passes 25 MB."""

    async def chunks() -> AsyncIterator[bytes]:
        block = b"x" * (1024 * 1024)
        for _ in range(27):
            yield block

    resp = await client.post("/webhook/github", data=chunks(), headers=webhook_headers("push", b""))
    assert resp.status == 413
    assert await queued(client) == 0


async def test_a_body_streamed_in_pieces_is_verified_and_stored_whole(client: Any) -> None:
    """Chunked, 1 KB at a time with pauses: every piece is hashed, the whole body stored."""

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(PUSH), 1024):
            yield PUSH[start : start + 1024]
            await asyncio.sleep(0.002)

    headers = webhook_headers("push", PUSH, delivery="in-pieces")
    resp = await client.post("/webhook/github", data=pieces(), headers=headers)
    assert resp.status == 202
    assert await queued(client) == 1
    assert await stored_body(client, "in-pieces") == PUSH.decode()
    tampered = PUSH[:-1] + b" "
    resp = await client.post("/webhook/github", data=tampered, headers=headers)
    assert resp.status == 401  # the signature covers the last byte too


async def test_each_delivery_counts_once_in_the_metrics(client: Any) -> None:
    def sample(text: str, line: str) -> float:
        found = [row for row in text.splitlines() if row.startswith(line + " ")]
        return float(found[0].split()[-1]) if found else 0.0

    requests = 'tamagitto_http_requests_total{method="POST",route="/webhook/github",status="202"}'
    timed = 'tamagitto_http_request_seconds_count{route="/webhook/github"}'
    outcome = 'tamagitto_webhook_deliveries_total{outcome="queued"}'
    before = await (await client.get("/metrics")).text()
    for _ in range(3):
        assert (await post(client, PUSH, webhook_headers("push", PUSH)))[0] == 202
    after = await (await client.get("/metrics")).text()
    for line in (requests, timed, outcome):
        assert sample(after, line) - sample(before, line) == 3, line


async def test_ping(client: Any) -> None:
    body = json.dumps(example("ping")).encode()
    status, answer = await post(client, body, webhook_headers("ping", body))
    assert (status, answer["ok"]) == (200, True)
    assert await queued(client) == 0


async def test_unknown_event_is_acknowledged(client: Any) -> None:
    body = b'{"action": "performed"}'
    status, _ = await post(client, body, webhook_headers("an_event_nobody_handles", body))
    assert status == 202
    assert await queued(client) == 1  # dropped later, in the worker


async def test_duplicate_delivery(client: Any) -> None:
    headers = webhook_headers("push", PUSH, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (await post(client, PUSH, headers))[0] == 202
    status, body = await post(client, PUSH, headers)
    assert (status, body["duplicate"]) == (200, True)
    assert await queued(client) == 1


async def test_webhook_path_setting(
    aiohttp_client: Any, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> None:
    client = await aiohttp_client(
        init_app(make_settings(**app_env, WEBHOOK_PATH="/hooks/gh"), run_jobs=False)
    )
    assert (await post(client, PUSH, webhook_headers("push", PUSH), "/hooks/gh"))[0] == 202


async def test_redis_down_gives_503_and_stores_nothing(
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
    headers = webhook_headers("push", PUSH, delivery="delivery-while-down")
    status, body = await post(client, PUSH, headers)
    assert status == 503 and body["error"] == "queue_unavailable"
    direct = Redis.from_url(redis_url)
    try:
        assert await direct.zcard("arq:queue") == 0
        redis_proxy.restore()
        # GitHub's manual redelivery of the same id is accepted once Redis is back
        for _ in range(30):
            status, _ = await post(client, PUSH, headers)
            if status != 503:
                break
            await asyncio.sleep(0.1)
        assert status == 202
        assert await direct.zcard("arq:queue") == 1
    finally:
        await direct.aclose()
