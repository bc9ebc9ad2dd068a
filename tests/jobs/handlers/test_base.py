"""`app/jobs/handlers/base.py`: the installation a payload names, and the language lookup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import aiohttp
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.core.models import Entity
from app.jobs.handlers.base import installation_id, now, with_language
from tests.conftest import example
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import rows, run

INSTALLATION = 7


@pytest.fixture
async def gh(fake_github: FakeGitHub) -> AsyncIterator[GitHubAPI]:
    """A client acting as an installation that can read `o/r`."""
    fake_github.add_installation(INSTALLATION)
    fake_github.add_repo(
        "o/r", language="Rust", default_branch="trunk", installation_id=INSTALLATION
    )
    token = fake_github.issue_token(INSTALLATION)
    async with aiohttp.ClientSession() as session:
        yield GitHubAPI(session, "tamagitto", oauth_token=token, base_url=fake_github.url)


async def test_language_fallback_is_blob(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    payload = example("installation", "created")
    fake_github.add_installation(payload["installation"]["id"])  # the repo itself: 404
    await run(ctx, "installation", payload)
    (pet,) = await rows(ctx, Entity)
    assert pet.species == "blob"


def test_installation_id_is_read_when_present() -> None:
    assert installation_id({"installation": {"id": "5"}}) == 5
    assert installation_id({"installation": {"id": None}}) is None
    assert installation_id({"sender": {"id": 1}}) is None
    assert now().tzinfo is UTC


async def test_with_language_asks_github_only_when_the_payload_lacks_it(
    gh: GitHubAPI, fake_github: FakeGitHub
) -> None:
    known = {"full_name": "o/r", "language": "Go"}
    assert await with_language(gh, known) is known
    assert await with_language(None, {"full_name": "o/r"}) == {"full_name": "o/r"}
    assert fake_github.calls("repos/get") == []
    fetched = await with_language(gh, {"full_name": "o/r", "private": False})
    assert fetched == {
        "full_name": "o/r",
        "private": False,
        "language": "Rust",
        "default_branch": "trunk",
        "archived": False,
    }


async def test_with_language_keeps_the_payload_when_github_fails(
    gh: GitHubAPI, fake_github: FakeGitHub
) -> None:
    fake_github.fail("GET", r"^/repos/o/r$", 502)
    repo = {"full_name": "o/r", "private": False}
    assert await with_language(gh, repo) is repo
    assert len(fake_github.calls("repos/get")) == 1
