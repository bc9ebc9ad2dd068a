"""The user's GitHub token in use: pagination, expiring tokens refreshed, revoked ones refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import User
from app.infra import github_user
from app.infra.runtime import RUNTIME
from tests.api.conftest import bearer, seed_repo, sign_in
from tests.fakes.github_user import WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


async def test_every_page_of_installations_and_repositories_is_read(
    client: TestClient, github: FakeGitHubUser, db: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(github_user, "PER_PAGE", 1)
    github.add_user("octocat")
    seeded = [
        await seed_repo(db, github, f"org{inst}/repo{n}", private=True, installation_id=inst)
        for inst in (1, 2)
        for n in range(2)
    ]
    for repo in seeded:
        github.grant("octocat", repo.github_id, WRITE)
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    body = await (await client.get("/api/entities", headers=headers)).json()
    assert {e["id"] for e in body["entities"]} == {r.entity_id for r in seeded}
    assert github.count("/user/installations") == 2 + 4  # 2 pages + 2 pages per installation


async def test_expiring_token_is_refreshed_before_use(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    github.expiring = True
    repo = await seed_repo(db, github, "acme/api", private=True)
    github.add_user("octocat")
    github.grant("octocat", repo.github_id, WRITE)
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    async with db.begin() as session:
        before = await session.scalar(select(User))
        assert before is not None
        await session.execute(
            update(User).values(token_expires_at=datetime.now(UTC) + timedelta(minutes=1))
        )
    resp = await client.get("/api/entities", headers=headers)
    assert resp.status == 200, await resp.text()
    assert len(github.issued) == 4  # a second access token and a second refresh token
    assert not github.refresh_tokens.get(github.issued[1])  # the first refresh token was used
    async with db() as session:
        after = await session.scalar(select(User))
    assert after is not None and after.token_ciphertext != before.token_ciphertext
    assert after.token_expires_at is not None
    assert after.token_expires_at > datetime.now(UTC) + timedelta(hours=7)


async def test_refused_refresh_means_sign_in_again(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    github.expiring = True
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    github.refresh_tokens.clear()  # GitHub no longer knows the refresh token
    async with db.begin() as session:
        await session.execute(update(User).values(token_expires_at=datetime.now(UTC)))
    resp = await client.get("/api/entities", headers=headers)
    assert resp.status == 401
    body = await resp.json()
    assert body["error"] == "invalid_token" and "sign in again" in body["message"]


async def test_revoked_github_authorization_means_sign_in_again(
    client: TestClient, github: FakeGitHubUser
) -> None:
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    github.tokens.clear()  # the person revoked the App's authorization on GitHub
    resp = await client.get("/api/repositories", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid_token"


async def test_github_down_is_a_502_not_a_500(client: TestClient, github: FakeGitHubUser) -> None:
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    runtime = client.app[RUNTIME]
    broken = runtime.settings.model_copy(update={"github_api_url_override": "http://127.0.0.1:9"})
    runtime.settings = broken
    resp = await client.get("/api/entities", headers=headers)
    assert resp.status == 502
    assert (await resp.json())["error"] == "github_unavailable"
