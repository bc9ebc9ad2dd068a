"""Rate limits: per user and group, shared across app instances through Redis, with headers."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.web.api.ratelimit import forwarded_client, group_for
from tests.api.conftest import ClientFactory, bearer, sign_in
from tests.fakes.github_user import FakeGitHubUser


def test_groups() -> None:
    assert group_for("POST", "/api/auth/github/initiate") == "authentication"
    assert group_for("GET", "/api/repositories") == "repositories"
    assert group_for("POST", "/api/repositories/1/monitor") == "repositories"
    assert group_for("GET", "/api/entities/3/health-history") == "entities"
    assert group_for("POST", "/api/analysis/trigger") == "analysis_trigger"
    assert group_for("GET", "/api/analysis/recent") == "default"
    assert group_for("GET", "/api/me") == "default"


async def test_limit_is_shared_by_two_instances(
    make_client: ClientFactory,
    api_settings: object,
    github: FakeGitHubUser,
    db: async_sessionmaker[AsyncSession],
) -> None:
    first = await make_client(api_settings, {"entities": 6})
    second = await make_client(api_settings, {"entities": 6})
    alice = bearer((await sign_in(first, github, "alice"))["session_token"])
    bob = bearer((await sign_in(second, github, "bob"))["session_token"])
    if time.time() % 60 > 57:  # don't straddle a window boundary
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    seen = []
    for i in range(6):
        resp = await (first if i % 2 else second).get("/api/entities", headers=alice)
        assert resp.status == 200
        seen.append(int(resp.headers["X-RateLimit-Remaining"]))
        assert resp.headers["X-RateLimit-Limit"] == "6"
    assert seen == [5, 4, 3, 2, 1, 0]
    resp = await first.get("/api/entities/current", headers=alice)
    assert resp.status == 429
    body = await resp.json()
    assert body["error"] == "rate_limit_exceeded"
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert int(resp.headers["X-RateLimit-Reset"]) - time.time() <= 61
    # another user, and another group of the same user, have their own budgets
    assert (await second.get("/api/entities", headers=bob)).status == 200
    assert (await second.get("/api/me", headers=alice)).status == 200


async def test_authentication_group_allows_ten_a_minute(
    make_client: ClientFactory, api_settings: object, db: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(api_settings)
    if time.time() % 60 > 57:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    statuses = []
    for _ in range(11):
        resp = await client.post("/api/auth/github/initiate", json={"redirect_uri": "x"})
        statuses.append(resp.status)
    assert statuses == [400] * 10 + [429]


def test_forwarded_client_trusts_only_configured_proxies() -> None:
    proxies = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]
    # No TRUSTED_PROXIES: the header is never read, even from loopback or a private range.
    assert forwarded_client("10.1.2.3", "203.0.113.9", []) == "10.1.2.3"
    assert forwarded_client("127.0.0.1", "203.0.113.9", []) == "127.0.0.1"
    # An untrusted peer's header proves nothing.
    assert forwarded_client("198.51.100.1", "203.0.113.9", proxies) == "198.51.100.1"
    # Rightmost untrusted hop: what the client wrote on the left is ignored.
    assert forwarded_client("127.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.5", proxies) == (
        "203.0.113.9"
    )
    assert forwarded_client("127.0.0.1", "10.0.0.7, 10.0.0.5", proxies) == "10.0.0.7"
    assert forwarded_client("127.0.0.1", "garbage", proxies) == "garbage"
    assert forwarded_client("127.0.0.1", " , ", proxies) == "127.0.0.1"


async def _rotating(client: Any, count: int) -> list[int]:
    """Anonymous sign-in attempts, each claiming another address in X-Forwarded-For."""
    if time.time() % 60 > 57:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    statuses = []
    for i in range(count):
        resp = await client.post(
            "/api/auth/github/initiate",
            json={"redirect_uri": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
        statuses.append(resp.status)
    return statuses


async def test_rotated_forwarded_for_does_not_escape_the_limit(
    make_client: ClientFactory, api_settings: object, db: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(api_settings)  # loopback peer, TRUSTED_PROXIES unset
    assert await _rotating(client, 12) == [400] * 10 + [429] * 2


async def test_forwarded_for_is_followed_behind_a_trusted_proxy(
    make_client: ClientFactory,
    make_settings: Callable[..., Settings],
    api_env: dict[str, str],
    db: async_sessionmaker[AsyncSession],
) -> None:
    client = await make_client(make_settings(**api_env, TRUSTED_PROXIES="127.0.0.1"))
    assert await _rotating(client, 12) == [400] * 12  # each address has its own budget
