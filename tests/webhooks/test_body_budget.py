"""Memory before authentication: unsigned bodies are never read, forged ones stay in a budget."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from app.core.config import Settings
from app.web.factory import init_app
from app.web.webhooks import BUDGET, BodyBudget
from tests.conftest import example, sign, webhook_headers

MB = 1024 * 1024
PUSH = json.dumps(example("push")).encode()


def rss() -> int:
    """This process's resident memory in bytes (the app runs in the test's process)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def body(size: int) -> AsyncIterator[bytes]:
    """A chunked body of `size` bytes, made of one shared block (the sender holds ~1 MB)."""
    block = b"x" * MB
    for _ in range(size // MB):
        yield block


async def make(
    aiohttp_client: Any, make_settings: Callable[..., Settings], env: dict[str, str], **extra: Any
) -> TestClient:
    return await aiohttp_client(init_app(make_settings(**env, **extra), run_jobs=False))


def budget_of(client: TestClient) -> BodyBudget:
    return client.app[BUDGET]


async def test_unsigned_body_is_refused_before_it_is_read(
    aiohttp_client: Any, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> None:
    client = await make(aiohttp_client, make_settings, app_env)
    headers = webhook_headers("push", b"")
    del headers["X-Hub-Signature-256"]
    resp = await client.post("/webhook/github", data=body(24 * MB), headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"] == "webhook_verification_failed"
    assert budget_of(client).peak == 0  # not one byte was held


async def test_concurrent_forged_bodies_stay_within_the_budget(
    aiohttp_client: Any, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> None:
    """16 bodies of 24 MB at once with a wrong signature: 401 or 503, and memory stays flat.

    One 24 MB body fits in the 32 MB budget at a time, so at least one is read through to its
    (wrong) signature and the others are turned away with 503.
    """
    client = await make(aiohttp_client, make_settings, app_env, UNVERIFIED_BODY_BUDGET=32 * MB)
    budget = budget_of(client)
    baseline, peak = rss(), 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            await asyncio.sleep(0.005)

    async def send(i: int) -> int:
        headers = webhook_headers("push", b"", delivery=f"forged-{i}")
        headers["X-Hub-Signature-256"] = sign(b"something else")
        resp = await client.post("/webhook/github", data=body(24 * MB), headers=headers)
        await resp.read()
        return resp.status

    watcher = asyncio.create_task(watch())
    statuses = await asyncio.gather(*(send(i) for i in range(16)))
    done.set()
    await watcher
    assert set(statuses) <= {401, 503}, statuses
    assert 503 in statuses and 401 in statuses
    assert budget.peak <= budget.limit
    assert budget.used == 0  # every reservation was given back
    # The budget plus the test's own sockets and buffers; reading every body whole took 364 MB.
    assert peak - baseline < budget.limit + 64 * MB, f"RSS grew by {(peak - baseline) // MB} MB"


async def test_budget_spent_gives_503_with_retry_after(
    aiohttp_client: Any, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> None:
    client = await make(aiohttp_client, make_settings, app_env, UNVERIFIED_BODY_BUDGET=MB)
    budget = budget_of(client)
    assert budget.take(budget.limit)  # another request holds it all
    resp = await client.post("/webhook/github", data=PUSH, headers=webhook_headers("push", PUSH))
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert (await resp.json())["error"] == "server_busy"
    budget.give(budget.limit)
    resp = await client.post("/webhook/github", data=PUSH, headers=webhook_headers("push", PUSH))
    assert resp.status == 202
    assert budget.used == 0


async def test_signed_body_is_verified_while_streaming(
    aiohttp_client: Any, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> None:
    """A chunked body of several chunks is accepted; one flipped byte is not."""
    client = await make(aiohttp_client, make_settings, app_env, WEBHOOK_MAX_BODY=4 * MB)
    payload = json.dumps({**example("push"), "padding": "p" * (3 * MB)}).encode()

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]

    headers = webhook_headers("push", payload)
    resp = await client.post("/webhook/github", data=chunks(payload), headers=headers)
    assert resp.status == 202, await resp.text()
    tampered = payload[:-2] + b" }"
    headers = webhook_headers("push", payload)
    resp = await client.post("/webhook/github", data=chunks(tampered), headers=headers)
    assert resp.status == 401
    too_big = payload + b" " * MB
    headers = webhook_headers("push", too_big)
    resp = await client.post("/webhook/github", data=chunks(too_big), headers=headers)
    assert resp.status == 413
    assert budget_of(client).used == 0
