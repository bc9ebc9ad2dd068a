"""Fixtures for the user API: a fake GitHub (OAuth and user endpoints), settings, clients."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.models import Repository
from app.entities.lifecycle import create_pet
from app.web.factory import init_app
from tests.fakes.github_user import CLIENT_ID, CLIENT_SECRET, FakeGitHubUser

EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"
PUBLIC_URL = "https://pets.example.org"
SESSION_SECRET = "s3ssion-secret-for-tests-0123456789abcdef"
EXTENSION_REDIRECT = f"https://{EXTENSION_ID}.chromiumapp.org/callback"


def new_key(kid: str) -> str:
    """A `kid:base64` entry for TOKEN_ENCRYPTION_KEYS."""
    return f"{kid}:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHubUser]:
    """The fake GitHub, served on loopback (see `github_url`)."""
    fake = FakeGitHubUser()
    yield fake
    assert fake.errors == [], fake.errors


@pytest.fixture
async def github_url(github: FakeGitHubUser) -> AsyncIterator[str]:
    server = TestServer(github.make_app())
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
def token_keys() -> str:
    return new_key("k1")


@pytest.fixture
def api_env(github_url: str, pg_url: str, redis_url: str, token_keys: str) -> dict[str, str]:
    """Production-mode settings (PostgreSQL and Redis) pointing at the fake GitHub."""
    return {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SESSION_SECRET": SESSION_SECRET,
        "TOKEN_ENCRYPTION_KEYS": token_keys,
        "GITHUB_CLIENT_ID": CLIENT_ID,
        "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
        "GITHUB_API_URL": github_url,
        "GITHUB_URL": github_url,
        "PUBLIC_URL": PUBLIC_URL,
        "EXTENSION_IDS": EXTENSION_ID,
    }


@pytest.fixture
def api_settings(make_settings: Callable[..., Settings], api_env: dict[str, str]) -> Settings:
    return make_settings(**api_env)


@pytest.fixture
def db(pg_sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test database (tables are emptied after each test)."""
    return pg_sessionmaker


ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> ClientFactory:
    """A client for a fresh app; like `tamagitto serve`, without an access log."""

    async def make(settings: Settings, limits: dict[str, int] | None = None) -> TestClient:
        app = init_app(settings, run_jobs=False)
        if limits:
            from app.web.api.ratelimit import LIMITS

            app[LIMITS].update(limits)
        server = TestServer(app)
        await server.start_server(access_log=None)
        client: TestClient = await aiohttp_client(server)
        return client

    return make


@pytest.fixture
async def client(
    make_client: ClientFactory, api_settings: Settings, db: async_sessionmaker[AsyncSession]
) -> TestClient:
    return await make_client(api_settings)


async def sign_in(
    client: TestClient, github: FakeGitHubUser, login: str, redirect: str = EXTENSION_REDIRECT
) -> dict[str, Any]:
    """The whole flow: initiate, GitHub's redirect with a code, callback."""
    if login not in github.users:
        github.add_user(login)
    resp = await client.post("/api/auth/github/initiate", json={"redirect_uri": redirect})
    assert resp.status == 200, await resp.text()
    state = (await resp.json())["state"]
    resp = await client.post(
        "/api/auth/github/callback", json={"code": github.code_for(login), "state": state}
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Seeded:
    """A repository row and its pet."""

    repository_id: int
    github_id: int
    entity_id: int
    full_name: str


async def seed_repo(
    db: async_sessionmaker[AsyncSession],
    github: FakeGitHubUser,
    full_name: str,
    *,
    private: bool,
    installation_id: int = 1,
    language: str = "Python",
) -> Seeded:
    """A repository known to the fake GitHub and to the database, with a pet."""
    repo = github.add_repo(installation_id, full_name, private=private, language=language)
    async with db.begin() as session:
        row = Repository(
            github_id=repo["id"],
            full_name=full_name,
            owner_login=full_name.split("/")[0],
            private=private,
            language=language,
            monitoring_enabled=True,
        )
        session.add(row)
        await session.flush()
        pet = await create_pet(session, row, datetime.now(UTC))
        return Seeded(row.id, row.github_id, pet.id, full_name)


__all__ = ["web"]
