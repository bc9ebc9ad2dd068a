"""Rate limits: per user and group, shared across app instances through Redis, with headers."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.ratelimit import group_for
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
