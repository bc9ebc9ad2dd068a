"""Fixtures for the site: an app with seeded pets, served in-process by pytest-aiohttp."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from app.config import Settings
from app.web import RUNTIME, init_app
from tests.site.seed import Seeded, seed


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
