"""Revocation is immediate: logout, token rotation and a revoked App authorization close the
person's open WebSockets within a second, in every web process (the periodic refresh is left at
its 5 minutes, so only the event bus can do it)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from gidgethub import sansio
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.infra.bus import RedisBus, event_channel, session_ended
from app.infra.job_context import JobContext
from app.jobs.handlers.authorization import authorization_revoked
from app.web.api import hub as hub_module
from app.web.api import ws as ws_module
from tests.api.conftest import ClientFactory, bearer, seed_repo, sign_in
from tests.api.test_ws import event, next_control, next_event, no_event, publish
from tests.conftest import example
from tests.fakes.github_user import WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


async def closed_within(sock: aiohttp.ClientWebSocketResponse, seconds: float) -> float:
    """Wait for the server's 4001 close; returns how long it took."""
    started = time.monotonic()
    msg = await next_control(sock, timeout=seconds)
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    assert msg.data == hub_module.CLOSE_SESSION_ENDED
    return time.monotonic() - started


@pytest.fixture
async def two(make_client: ClientFactory, api_settings: Any, db: DB) -> list[TestClient]:
    """Two web processes' worth of app sharing PostgreSQL and Redis."""
    assert ws_module.REFRESH_EVERY >= 300
    return [await make_client(api_settings), await make_client(api_settings)]


async def _alice(client: TestClient, github: FakeGitHubUser, db: DB) -> Any:
    repo = await seed_repo(db, github, "acme/private", private=True)
    github.add_user("alice")
    github.grant("alice", repo.github_id, WRITE)
    return repo


async def test_logout_closes_the_sessions_sockets_in_every_process(
    two: list[TestClient], github: FakeGitHubUser, db: DB
) -> None:
    first, second = two
    repo = await _alice(first, github, db)
    signed = await sign_in(first, github, "alice")
    token = signed["session_token"]
    other = (await sign_in(first, github, "alice"))["session_token"]  # a second device
    sock = await second.ws_connect(f"/api/ws?token={token}")
    keeps = await second.ws_connect(f"/api/ws?token={other}")
    try:
        assert (await next_event(sock))["type"] == "snapshot"
        assert (await next_event(keeps))["type"] == "snapshot"
        resp = await first.post("/api/auth/logout", headers=bearer(token))
        assert resp.status == 200
        assert await closed_within(sock, 1.0) < 1.0
        await publish(first, event(repo, 12))
        got = await next_event(keeps)  # the other session's socket still streams
        assert got["health_score"] == 12
    finally:
        await sock.close()
        await keeps.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await second.ws_connect(f"/api/ws?token={token}")
    assert info.value.status == 401


async def test_rotation_closes_the_old_tokens_socket(
    two: list[TestClient], github: FakeGitHubUser, db: DB
) -> None:
    first, second = two
    await _alice(first, github, db)
    token = (await sign_in(first, github, "alice"))["session_token"]
    sock = await second.ws_connect("/api/ws", protocols=("bearer", token))
    try:
        assert (await next_event(sock))["type"] == "snapshot"
        resp = await first.post("/api/auth/refresh", headers=bearer(token))
        assert resp.status == 200
        assert await closed_within(sock, 1.0) < 1.0
    finally:
        await sock.close()
    renewed = (await resp.json())["session_token"]
    again = await second.ws_connect("/api/ws", protocols=("bearer", renewed))
    try:
        assert (await next_event(again))["type"] == "snapshot"
    finally:
        await again.close()


async def test_revoked_authorization_closes_every_socket_of_the_person(
    two: list[TestClient], github: FakeGitHubUser, db: DB, redis_url: str
) -> None:
    first, second = two
    repo = await _alice(first, github, db)
    signed = await sign_in(first, github, "alice")
    tokens = [signed["session_token"], (await sign_in(first, github, "alice"))["session_token"]]
    socks = [
        await first.ws_connect(f"/api/ws?token={tokens[0]}"),
        await second.ws_connect(f"/api/ws?token={tokens[1]}"),
    ]
    payload = example("github_app_authorization", "revoked")
    payload["sender"]["id"] = signed["user"]["github_id"]
    publisher = Redis.from_url(redis_url)
    try:
        for sock in socks:
            assert (await next_event(sock))["type"] == "snapshot"
        # The worker runs the handler, with its own connection to Redis.
        ctx = {"sessionmaker": db, "bus": RedisBus(publisher, event_channel(redis_url))}
        webhook = sansio.Event(payload, event="github_app_authorization", delivery_id="d-1")
        await authorization_revoked(webhook, None, ctx=JobContext(ctx))
        for sock in socks:
            assert await closed_within(sock, 1.0) < 1.0
        await publish(first, event(repo, 7))
    finally:
        for sock in socks:
            await sock.close()
        await publisher.aclose()
    # The access cache was dropped and the GitHub token is gone: no way back in.
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await second.ws_connect(f"/api/ws?token={tokens[1]}")
    assert info.value.status == 401
    resp = await first.get("/api/entities", headers=bearer(tokens[0]))
    assert resp.status == 401


async def test_session_ended_while_connecting_is_closed_at_once(
    two: list[TestClient], github: FakeGitHubUser, db: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The logout lands between authentication and registration: the socket still closes."""
    first, _ = two
    await _alice(first, github, db)
    token = (await sign_in(first, github, "alice"))["session_token"]
    real = ws_module._repositories_for

    async def logout_meanwhile(request: Any, principal: Any, public: Any) -> Any:
        rows = await real(request, principal, public)
        hub = request.config_dict[hub_module.HUB]
        hub.dispatch(session_ended(principal.user_id, principal.jti))
        return rows

    monkeypatch.setattr(ws_module, "_repositories_for", logout_meanwhile)
    sock = await first.ws_connect(f"/api/ws?token={token}")
    try:
        assert await closed_within(sock, 1.0) < 1.0
    finally:
        await sock.close()


def test_ended_sessions_match_by_person_session_and_time() -> None:
    hub = hub_module.Hub()
    client = hub_module.Client(
        transport=None,  # type: ignore[arg-type]
        repo_ids=frozenset(),
        refresh=None,  # type: ignore[arg-type]
        user_id=7,
        jti="mine",
    )
    hub.dispatch(session_ended(7, "another-session"))
    hub.dispatch(session_ended(8))
    assert not hub.was_ended(client)
    hub.dispatch(session_ended(7, "mine"))
    assert hub.was_ended(client)
    client.opened_at = time.monotonic() + 1  # a socket opened after the end is not affected
    assert not hub.was_ended(client)
    hub.dispatch(session_ended(7))  # every session of the person
    client.opened_at = 0
    assert hub.was_ended(client)


async def test_other_peoples_sockets_stay_open(
    two: list[TestClient], github: FakeGitHubUser, db: DB
) -> None:
    first, second = two
    repo = await _alice(first, github, db)
    github.add_user("bob")
    github.grant("bob", repo.github_id, WRITE)
    alice = (await sign_in(first, github, "alice"))["session_token"]
    bob = (await sign_in(first, github, "bob"))["session_token"]
    sock = await second.ws_connect(f"/api/ws?token={bob}")
    try:
        assert (await next_event(sock))["type"] == "snapshot"
        assert (await first.post("/api/auth/logout", headers=bearer(alice))).status == 200
        await asyncio.sleep(0.3)
        await publish(first, event(repo, 55))
        assert (await next_event(sock))["health_score"] == 55
        await no_event(sock, 0.2)
    finally:
        await sock.close()
