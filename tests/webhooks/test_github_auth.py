"""App auth: JWTs, the installation token cache, refresh before expiry, one refresh at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
import pytest

from app.core.config import Settings
from app.infra.github import AppNotConfigured, GitHubApp
from tests.fakes.github import FakeGitHub

TOKENS = "apps/create-installation-access-token"


@pytest.fixture
async def app(
    make_settings: Callable[..., Settings], app_env: dict[str, str], fake_github: FakeGitHub
) -> AsyncIterator[GitHubApp]:
    fake_github.add_installation(7)
    fake_github.add_repo("o/r", installation_id=7)
    async with aiohttp.ClientSession() as session:
        yield GitHubApp(make_settings(**app_env), session)


async def test_token_is_cached(app: GitHubApp, fake_github: FakeGitHub) -> None:
    gh = app.installation_client(7)
    for _ in range(3):
        assert (await gh.getitem("/repos/o/r"))["full_name"] == "o/r"
    assert len(fake_github.calls(TOKENS)) == 1
    auth = fake_github.calls("repos/get")[0].headers["Authorization"]
    assert auth.startswith("token ghs_")


async def test_refresh_before_expiry(app: GitHubApp, fake_github: FakeGitHub) -> None:
    fake_github.token_lifetime = timedelta(minutes=4)  # inside the 5-minute margin
    await app.tokens.get(7)
    await app.tokens.get(7)
    assert len(fake_github.calls(TOKENS)) == 2
    fake_github.token_lifetime = timedelta(minutes=6)
    await app.tokens.get(7)
    await app.tokens.get(7)
    assert len(fake_github.calls(TOKENS)) == 3


async def test_one_refresh_under_concurrency(app: GitHubApp, fake_github: FakeGitHub) -> None:
    tokens = await asyncio.gather(*(app.tokens.get(7) for _ in range(25)))
    assert len(set(tokens)) == 1
    assert len(fake_github.calls(TOKENS)) == 1


async def test_revoked_token_refreshes_once(app: GitHubApp, fake_github: FakeGitHub) -> None:
    gh = app.installation_client(7)
    await gh.getitem("/repos/o/r")
    fake_github.tokens.clear()  # GitHub forgot every token: the next call is a 401
    assert (await gh.getitem("/repos/o/r"))["full_name"] == "o/r"
    assert len(fake_github.calls(TOKENS)) == 2


async def test_jwt_is_checked_by_github(app: GitHubApp, fake_github: FakeGitHub) -> None:
    await app.tokens.get(7)
    assert fake_github.calls(TOKENS)[0].headers["Authorization"].lower().startswith("bearer ")


async def test_unconfigured_app(make_settings: Callable[..., Settings]) -> None:
    async with aiohttp.ClientSession() as session:
        app = GitHubApp(make_settings(), session)
        with pytest.raises(AppNotConfigured):
            app.jwt()


def test_base_urls_follow_settings(make_settings: Callable[..., Settings]) -> None:
    app = GitHubApp(make_settings(GHE_HOST="ghe.corp"), None)  # type: ignore[arg-type]
    assert app.base_url == "https://ghe.corp/api/v3"
