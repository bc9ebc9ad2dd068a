"""WEBHOOK_PROXY_URL: deliveries relayed by a smee-style channel meet the same intake.

The channel is a local fake of smee.io (tests/fakes/smee.py); deliveries are POSTed to it as
GitHub would, and the relay feeds them to a real app's webhook endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.core.models import Job
from app.infra.runtime import RUNTIME
from app.web.factory import init_app
from app.web.webhook_proxy import (
    ChannelError,
    Relay,
    create_channel,
    delivery_of,
    for_process,
    is_loopback,
    local_webhook_url,
    sse_events,
)
from tests.conftest import example, sign, webhook_headers
from tests.fakes.smee import FakeSmee
from tests.site.serve import start_server, stop_server, wait_ready_async

LIMIT = 1024 * 1024


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def parse(*parts: bytes, limit: int = LIMIT) -> list[tuple[str, str]]:
    return [(e.event, e.data) async for e in sse_events(chunks(*parts), limit)]


async def test_sse_parser_follows_the_standard() -> None:
    events = await parse(
        b": a comment\nid: 1\nevent: ready\ndata: {}\n\n",
        b"data: line one\r\ndata:line two\r\n\r\n",
        b"data: split ",  # an event cut anywhere by the network
        b"across chunks\n",
        b"\nevent: ping\n\n",  # no data: nothing dispatched
    )
    assert events == [
        ("ready", "{}"),
        ("message", "line one\nline two"),
        ("message", "split across chunks"),
    ]


async def test_sse_parser_refuses_an_endless_event() -> None:
    with pytest.raises(ChannelError):
        await parse(b"data: " + b"x" * 200, b"x" * 200, limit=256)


def test_delivery_is_rebuilt_compactly_with_githubs_headers_only() -> None:
    body = {"zen": "Keep it logically awesome.", "hook": {"id": 1, "events": ["push"]}, "n": None}
    message = json.dumps(
        {
            "host": "smee.io",
            "content-length": "999",
            "x-github-event": "ping",
            "x-github-delivery": "d-1",
            "x-hub-signature-256": "sha256=abc",
            "user-agent": "GitHub-Hookshot/1",
            "body": body,
            "query": {},
            "timestamp": 1,
        },
        indent=2,
    )
    headers, raw = delivery_of(message) or ({}, b"")
    assert raw == b'{"zen":"Keep it logically awesome.","hook":{"id":1,"events":["push"]},"n":null}'
    assert headers == {
        "x-github-event": "ping",
        "x-github-delivery": "d-1",
        "x-hub-signature-256": "sha256=abc",
        "user-agent": "GitHub-Hookshot/1",
        "content-type": "application/json",
    }
    assert delivery_of("{}") is None  # smee's ready and ping events
    assert delivery_of("not json") is None


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://localhost:3000", True),
        ("http://127.0.0.1:3000", True),
        ("http://[::1]:3000", True),
        ("http://app.localhost", True),
        ("https://pets.example.com", False),
        ("http://192.168.1.20:3000", False),
    ],
)
def test_loopback_public_urls(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_local_target_and_one_reader(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(PORT="4100", WEBHOOK_PROXY_URL="https://smee.io/abc")
    assert local_webhook_url(settings) == "http://127.0.0.1:4100/webhook/github"
    assert local_webhook_url(make_settings(HOST="::", PORT="5")) == "http://[::1]:5/webhook/github"
    assert for_process(settings, 0).webhook_proxy_url == "https://smee.io/abc"
    assert for_process(settings, 1).webhook_proxy_url is None


@pytest.fixture
async def smee(aiohttp_server: Any) -> FakeSmee:
    fake = FakeSmee()
    server = await aiohttp_server(fake.make_app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


async def test_create_channel_follows_the_redirect(smee: FakeSmee) -> None:
    async with aiohttp.ClientSession() as http:
        channel = await create_channel(http, f"{smee.url}/new")
        assert channel == f"{smee.url}/{smee.created[0]}"
        with pytest.raises(ChannelError):  # a page, not a redirect
            await create_channel(http, f"{smee.url}/some-channel")


def github_delivery(event: str = "push") -> tuple[dict[str, str], bytes]:
    """Headers and the exact compact body GitHub would send (non-ASCII included)."""
    payload = example(event)
    if event == "push":
        payload["head_commit"]["message"] = "Café ✨: naïve “quotes” and \\ backslash\nline"
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return webhook_headers(event, body), body


async def stored(client: Any) -> list[list[Any]]:
    """The jobs the intake stored (embedded mode, jobs not run): [event, delivery, body]."""
    async with client.app[RUNTIME].sessionmaker() as session:
        return [list(job.args) for job in await session.scalars(select(Job))]


async def refused(client: Any) -> float:
    """How many deliveries the intake refused for their signature, from /metrics."""
    text = await (await client.get("/metrics")).text()
    pattern = r'tamagitto_webhook_deliveries_total\{outcome="webhook_verification_failed"\} (\S+)'
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture
async def relayed(
    smee: FakeSmee,
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
) -> AsyncIterator[tuple[Any, str, Relay]]:
    """A real app (jobs stored, not run) fed by a relay reading a fake channel."""
    client = await aiohttp_client(init_app(make_settings(**app_env), run_jobs=False))
    channel = f"{smee.url}/test-channel"
    async with aiohttp.ClientSession() as http:
        relay = Relay(http, channel, str(client.make_url("/webhook/github")), LIMIT)
        task = asyncio.create_task(relay.run())
        await smee.wait_readers("test-channel")
        yield client, channel, relay
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_bad_signature_refused_good_one_queued(
    relayed: tuple[Any, str, Relay], smee: FakeSmee
) -> None:
    client, channel, _ = relayed
    before = await refused(client)
    async with aiohttp.ClientSession() as http:
        forged_headers, forged = github_delivery()
        forged_headers["X-Hub-Signature-256"] = sign(forged, "not-the-secret")
        await http.post(channel, data=forged, headers=forged_headers)
        headers, body = github_delivery()
        await http.post(channel, data=body, headers=headers)
    await until(lambda: _count(client, 1))
    ((event, delivery, queued_body),) = await stored(client)
    assert (event, delivery) == ("push", headers["X-GitHub-Delivery"])
    assert queued_body.encode() == body  # byte for byte what GitHub signed
    assert await refused(client) == before + 1


async def _count(client: Any, n: int) -> bool:
    return len(await stored(client)) >= n


async def test_redelivered_through_the_channel_is_a_duplicate(
    relayed: tuple[Any, str, Relay],
) -> None:
    client, channel, _ = relayed
    headers, body = github_delivery()
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            await http.post(channel, data=body, headers=headers)
    await until(lambda: _count(client, 1))
    # the relay posts in order: a third, distinct delivery arriving proves the second was seen
    other_headers, other = github_delivery()
    async with aiohttp.ClientSession() as http:
        await http.post(channel, data=other, headers=other_headers)
    await until(lambda: _count(client, 2))
    assert sorted(args[1] for args in await stored(client)) == sorted(
        [headers["X-GitHub-Delivery"], other_headers["X-GitHub-Delivery"]]
    )


async def test_relay_reconnects_after_the_channel_drops(
    relayed: tuple[Any, str, Relay], smee: FakeSmee
) -> None:
    client, channel, relay = relayed
    smee.drop()
    await until(lambda: _true(smee.connects >= 2 and smee.readers.get("test-channel")))
    smee.ping("test-channel")
    headers, body = github_delivery()
    async with aiohttp.ClientSession() as http:
        await http.post(channel, data=body, headers=headers)
    await until(lambda: _count(client, 1))
    assert relay.connects == 2


async def _true(value: Any) -> bool:
    return bool(value)


async def test_serve_reads_the_channel(
    smee: FakeSmee, app_env: dict[str, str], tmp_path: Path
) -> None:
    """`tamagitto serve` itself: WEBHOOK_PROXY_URL set, a forged and a signed delivery."""
    channel = f"{smee.url}/serve-{uuid.uuid4().hex[:8]}"
    env = {**app_env, "WEBHOOK_PROXY_URL": channel, "TAMAGITTO_DATA_DIR": str(tmp_path / "d")}
    proc, base = start_server(tmp_path, **env)
    try:
        await wait_ready_async(base, proc)
        await smee.wait_readers(channel.rsplit("/", 1)[1], timeout=30)
        async with aiohttp.ClientSession() as http:
            headers, body = github_delivery("star")
            forged = dict(headers, **{"X-Hub-Signature-256": sign(body, "wrong")})
            await http.post(channel, data=body, headers=forged)
            await http.post(channel, data=body, headers=headers)
            await until(lambda: _metric(http, base, "queued", 1.0), timeout=30)
            assert await _metric(http, base, "webhook_verification_failed", 1.0)
    finally:
        stop_server(proc)
    log = (tmp_path / "serve.log").read_text()
    assert f"tamagitto: GitHub delivers webhooks to {channel};" in log


async def _metric(http: aiohttp.ClientSession, base: str, outcome: str, value: float) -> bool:
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    line = f'tamagitto_webhook_deliveries_total{{outcome="{outcome}"}} {value}'
    return line in text
