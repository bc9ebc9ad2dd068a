"""The WebSocket: auth before upgrade, snapshot, filtering, heartbeat, slow clients, fan-out."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import uuid
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.infra.bus import RedisBus, event_channel
from app.infra.runtime import RUNTIME
from app.web.api import hub as hub_module
from app.web.api import ws as ws_module
from tests.api.conftest import ClientFactory, Seeded, seed_repo, sign_in
from tests.fakes.github_user import WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


# Redis pub/sub channels are shared by every database number, so other runs on this machine
# may publish on the same channel: tests only look at frames carrying this run's marker.
RUN = uuid.uuid4().hex


def event(seeded: Seeded, health: int = 50, **extra: Any) -> dict[str, Any]:
    return {
        "test_run": RUN,
        "type": "health_update",
        "entity_id": seeded.entity_id,
        "repository_id": seeded.repository_id,
        "health_score": health,
        "state": "okay",
        "visual_url": "/images/x.svg",
        "change_reason": "tests added",
        "timestamp": "2026-11-25T00:00:00+00:00",
        **extra,
    }


async def publish(client: TestClient, payload: dict[str, Any]) -> None:
    await client.app[RUNTIME].bus.publish(payload)


def ours(data: dict[str, Any]) -> bool:
    return data.get("type") == "snapshot" or data.get("test_run") == RUN


async def next_event(sock: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> dict[str, Any]:
    """The next frame of this run (a snapshot or one of our events)."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await sock.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            data: dict[str, Any] = json.loads(msg.data)
            if ours(data):
                return data


async def no_event(sock: aiohttp.ClientWebSocketResponse, timeout: float = 0.5) -> None:
    """Nothing of this run arrives within the timeout."""
    with pytest.raises(TimeoutError):
        await next_event(sock, timeout)


async def next_control(sock: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> Any:
    """The next non-text message (ping, close), skipping other runs' events."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await sock.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                return msg


async def test_missing_or_invalid_token_gets_401_before_upgrade(client: TestClient) -> None:
    for url in ("/api/ws", "/api/ws?token=garbage"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await client.ws_connect(url)
        assert info.value.status == 401
    resp = await client.get("/api/ws?token=garbage")
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid_token"


async def test_protocol_header_auth_snapshot_and_filtering(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    mine = await seed_repo(db, github, "acme/mine", private=True)
    theirs = await seed_repo(db, github, "else/theirs", private=True, installation_id=2)
    github.add_user("alice")
    github.add_user("bob")
    github.grant("alice", mine.github_id, WRITE)
    github.grant("bob", theirs.github_id, WRITE)
    alice = (await sign_in(client, github, "alice"))["session_token"]
    bob = (await sign_in(client, github, "bob"))["session_token"]
    a = await client.ws_connect("/api/ws", protocols=("bearer", alice))
    b = await client.ws_connect(f"/api/ws?token={bob}")
    try:
        assert a.protocol == "bearer"
        snap_a, snap_b = await next_event(a), await next_event(b)
        assert snap_a["type"] == "snapshot"
        assert [e["id"] for e in snap_a["entities"]] == [mine.entity_id]
        assert [e["id"] for e in snap_b["entities"]] == [theirs.entity_id]
        await a.send_str(json.dumps({"type": "keepalive"}))
        await publish(client, event(theirs, 33))
        await publish(client, event(mine, 44))
        got = await next_event(a)
        assert got["entity_id"] == mine.entity_id and got["health_score"] == 44
        got = await next_event(b)
        assert got["entity_id"] == theirs.entity_id and got["health_score"] == 33
        await no_event(a)
        await no_event(b)
    finally:
        await a.close()
        await b.close()


async def test_public_subscription_without_sign_in(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    public = await seed_repo(db, github, "acme/open", private=False)
    private = await seed_repo(db, github, "acme/closed", private=True)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/api/ws?repository=acme/closed")
    assert info.value.status == 404
    sock = await client.ws_connect("/api/ws?repository=acme/open")
    try:
        snap = await next_event(sock)
        assert [e["id"] for e in snap["entities"]] == [public.entity_id]
        await publish(client, event(private, 10))
        await publish(client, event(public, 90))
        got = await next_event(sock)
        assert got["entity_id"] == public.entity_id and got["health_score"] == 90
        await no_event(sock)
    finally:
        await sock.close()


async def test_server_pings(
    client: TestClient, github: FakeGitHubUser, db: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_repo(db, github, "acme/open", private=False)
    monkeypatch.setattr(ws_module, "HEARTBEAT", 0.3)
    assert ws_module.HEARTBEAT == 0.3
    sock = await client.ws_connect("/api/ws?repository=acme/open", autoping=False)
    try:
        assert (await next_event(sock))["type"] == "snapshot"
        msg = await next_control(sock, timeout=3)
        assert msg.type == aiohttp.WSMsgType.PING
    finally:
        await sock.close()


async def test_signed_out_socket_is_closed_at_the_next_refresh(
    client: TestClient, github: FakeGitHubUser, db: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = await seed_repo(db, github, "acme/mine", private=True)
    github.add_user("alice")
    github.grant("alice", repo.github_id, WRITE)
    token = (await sign_in(client, github, "alice"))["session_token"]
    monkeypatch.setattr(ws_module, "REFRESH_EVERY", 0.3)
    sock = await client.ws_connect(f"/api/ws?token={token}")
    assert (await next_event(sock))["type"] == "snapshot"
    resp = await client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    msg = await next_control(sock)
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert msg.data == hub_module.CLOSE_SESSION_ENDED


def _stalled_socket(port: int, path: str) -> socket.socket:
    """A client that completes the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    sock.recv(1024)  # the 101 (and maybe the snapshot), then nothing more
    return sock


async def test_slow_client_is_dropped_and_never_holds_up_others(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    public = await seed_repo(db, github, "acme/open", private=False)
    hub = client.app[hub_module.HUB]
    stalled = await asyncio.to_thread(_stalled_socket, client.port, "/api/ws?repository=acme/open")
    fast = await client.ws_connect("/api/ws?repository=acme/open", max_msg_size=0)
    try:
        assert (await next_event(fast))["type"] == "snapshot"
        padding = "x" * 256 * 1024
        received = 0
        for i in range(40):
            await publish(client, event(public, i % 100, padding=padding))
            got = await next_event(fast, timeout=5)
            assert got["health_score"] == i % 100
            received += 1
        assert received == 40
        assert hub.drops == 1
        assert len(hub.clients) == 1
    finally:
        stalled.close()
        await fast.close()


def test_client_bounds_unsent_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    class Transport:
        def __init__(self) -> None:
            self.backlog = 0
            self.aborted = False

        def is_closing(self) -> bool:
            return self.aborted

        def get_write_buffer_size(self) -> int:
            return self.backlog

        def write(self, data: bytes) -> None:
            self.backlog += len(data)

        def abort(self) -> None:
            self.aborted = True

    async def refresh() -> frozenset[int]:
        return frozenset()

    clock = [100.0]
    monkeypatch.setattr(hub_module.time, "monotonic", lambda: clock[0])
    transport = Transport()
    client = hub_module.Client(transport, frozenset({1}), refresh)  # type: ignore[arg-type]
    frame = hub_module.text_frame(b"x" * 1000)
    assert client.offer(frame)  # held until the snapshot is out
    assert client.go_live() and transport.backlog == len(frame)
    transport.backlog = hub_module.SOFT_LIMIT + 1
    assert client.offer(frame)  # slow, but within the timeout
    clock[0] += hub_module.SLOW_TIMEOUT + 1
    assert not client.offer(frame)
    transport.backlog = hub_module.HARD_LIMIT + 1
    fresh = hub_module.Client(transport, frozenset({1}), refresh)  # type: ignore[arg-type]
    fresh.live = True
    assert not fresh.offer(frame)


def test_text_frame_lengths() -> None:
    assert hub_module.text_frame(b"hi") == b"\x81\x02hi"
    assert hub_module.text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert hub_module.text_frame(b"x" * 70000)[:10] == b"\x81\x7f" + (70000).to_bytes(8, "big")


async def test_fan_out_across_two_app_instances_through_redis(
    make_client: ClientFactory,
    api_settings: Any,
    github: FakeGitHubUser,
    db: DB,
    redis_url: str,
) -> None:
    public = await seed_repo(db, github, "acme/open", private=False)
    first = await make_client(api_settings)
    second = await make_client(api_settings)
    assert first.port != second.port
    socks = [
        await first.ws_connect("/api/ws?repository=acme/open"),
        await second.ws_connect("/api/ws?repository=acme/open"),
    ]
    publisher = Redis.from_url(redis_url)
    try:
        for sock in socks:
            assert (await next_event(sock))["type"] == "snapshot"
        await RedisBus(publisher, event_channel(redis_url)).publish(
            event(public, 61)
        )  # as a worker process would
        for sock in socks:
            got = await next_event(sock)
            assert got["health_score"] == 61 and got["entity_id"] == public.entity_id
        await publish(first, event(public, 62))  # published by one web process
        for sock in socks:
            assert (await next_event(sock))["health_score"] == 62
    finally:
        for sock in socks:
            await sock.close()
        await publisher.aclose()


async def test_embedded_mode_uses_the_local_bus(
    make_client: ClientFactory,
    make_settings: Any,
    api_env: dict[str, str],
    sqlite_url: str,
) -> None:
    env = {**api_env, "DATABASE_URL": sqlite_url.replace("sqlite+aiosqlite", "sqlite")}
    env.pop("REDIS_URL")
    settings = make_settings(**env)
    assert settings.embedded
    client = await make_client(settings)
    runtime = client.app[RUNTIME]
    from datetime import UTC, datetime

    from app.core.models import Repository
    from app.entities.lifecycle import create_pet

    async with runtime.sessionmaker.begin() as session:
        row = Repository(github_id=5, full_name="acme/open", owner_login="acme", private=False)
        session.add(row)
        await session.flush()
        pet = await create_pet(session, row, datetime.now(UTC))
        seeded = Seeded(row.id, 5, pet.id, "acme/open")
    sock = await client.ws_connect("/api/ws?repository=acme/open")
    try:
        assert (await next_event(sock))["entities"][0]["id"] == seeded.entity_id
        await publish(client, event(seeded, 12))
        assert (await next_event(sock))["health_score"] == 12
        headers = {}
        for _ in range(3):
            resp = await client.get("/api/public/pets/acme/open")
            headers = dict(resp.headers)
        assert int(headers["X-RateLimit-Remaining"]) == 100 - 4  # three GETs and the socket
    finally:
        await sock.close()
