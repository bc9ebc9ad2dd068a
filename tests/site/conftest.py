"""Fixtures for the site: an app with seeded pets, served in-process by pytest-aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core import db
from app.core.config import Settings
from app.infra.runtime import RUNTIME
from app.web.factory import init_app
from tests.site.seed import Seeded, seed, seed_url
from tests.site.serve import require_browser_tools, serve


@pytest.fixture
async def site_client(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    """A test client for the whole app (embedded SQLite), pets seeded after start-up."""
    client = await aiohttp_client(init_app(make_settings(PUBLIC_URL="https://pets.example")))
    client.seeded = await seed(client.app[RUNTIME].sessionmaker, datetime.now(UTC))
    return client


@pytest.fixture
def seeded(site_client: Any) -> Seeded:
    """What was seeded into `site_client`'s database."""
    return site_client.seeded


@pytest.fixture(scope="session")
def embedded_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded]]:
    """`tamagitto serve` (embedded mode, free port) on a seeded SQLite database.

    Yields (base URL, what was seeded). Shared by the browser and Lighthouse tests.
    """
    require_browser_tools()
    work = tmp_path_factory.mktemp("site-serve")
    data = work / "data"
    data.mkdir()
    url = f"sqlite+aiosqlite:///{data / 'tamagitto.db'}"
    db.upgrade(url)
    seeded = asyncio.run(seed_url(url))
    with serve(work, TAMAGITTO_DATA_DIR=str(data)) as base:
        yield base, seeded
