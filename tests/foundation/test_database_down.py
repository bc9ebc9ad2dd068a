"""PostgreSQL going away: every page and endpoint that needs it answers 503 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import db
from app.core.config import Settings
from app.core.models import Repository
from app.entities.lifecycle import create_pet
from app.web.api.sessions import issue
from app.web.factory import init_app
from tests.conftest import TcpProxy

SECRET = "database-down-session-secret-0123456789"


@pytest.fixture
async def pg_proxy(pg_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy in front of the real PostgreSQL; `cut()` makes the database go away."""
    url = make_url(pg_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> str:
    """A public repository with a pet; returns its full name."""
    async with sessions.begin() as session:
        row = Repository(
            github_id=987_001,
            full_name="acme/outage",
            owner_login="acme",
            private=False,
            language="Python",
            monitoring_enabled=True,
        )
        session.add(row)
        await session.flush()
        await create_pet(session, row, datetime.now(UTC))
    return "acme/outage"


def _urls(full_name: str) -> list[str]:
    return [
        f"/pets/{full_name}",
        f"/badge/{full_name}.svg",
        f"/api/public/pets/{full_name}",
        f"/api/ws?repository={full_name}",
        "/api/entities",
        "/images/0123456789abcdef0123.png",
    ]


async def test_database_down_is_503_with_retry_after(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_proxy: TcpProxy,
    pg_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    full_name = await _seed(pg_sessionmaker)
    proxied = make_url(pg_url).set(host="127.0.0.1", port=pg_proxy.port)
    settings = make_settings(
        DATABASE_URL=proxied.render_as_string(hide_password=False).replace("+asyncpg", ""),
        SESSION_SECRET=SECRET,
    )
    client = await aiohttp_client(init_app(settings, run_jobs=False))
    token, _ = issue(SECRET.encode(), 1, datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    before = {url: (await client.get(url, headers=headers)).status for url in _urls(full_name)}
    assert before[f"/pets/{full_name}"] == 200
    assert before[f"/badge/{full_name}.svg"] == 200
    assert before[f"/api/public/pets/{full_name}"] == 200

    pg_proxy.cut()
    for url in _urls(full_name):
        resp = await client.get(url, headers=headers)
        assert resp.status == 503, (url, resp.status, await resp.text())
        assert resp.headers["Retry-After"] == str(db.RETRY_AFTER), url
        body = await resp.json()
        assert body["error"] == "database_unavailable", url
        assert set(body) >= {"error", "message", "timestamp"}
    assert (await client.get("/healthz")).status == 200  # the process itself is fine

    pg_proxy.restore()
    assert (await client.get(f"/pets/{full_name}", headers=headers)).status == 200
    assert (await client.get(f"/api/public/pets/{full_name}")).status == 200


def test_is_unavailable_is_about_the_database() -> None:
    from sqlalchemy import exc

    assert db.is_unavailable(db.DatabaseUnavailable("gone"))
    assert db.is_unavailable(exc.TimeoutError("pool exhausted"))
    assert db.is_unavailable(exc.OperationalError("SELECT 1", {}, Exception("down")))
    assert not db.is_unavailable(exc.IntegrityError("INSERT", {}, Exception("dup")))
    assert not db.is_unavailable(ConnectionResetError("raised outside the database stack"))
    assert not db.is_unavailable(ValueError("a bug"))
