"""Shared fixtures: a fresh PostgreSQL database per run, Redis, SQLite, settings, a TCP proxy.

Every integration test talks to the real PostgreSQL and Redis running on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import db
from app.core.config import Settings, load_settings
from app.core.models import Base

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _pg_url(name: str) -> str:
    """SQLAlchemy asyncpg URL for a database on the admin DSN's server."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def off_loop(fn: Callable[[], Any]) -> Any:
    """Run blocking set-up that uses asyncio.run, even when a test's loop is running."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def create_database(prefix: str = "tamagitto_test") -> tuple[str, str]:
    """Create a uniquely named database; returns (name, SQLAlchemy URL)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    off_loop(lambda: asyncio.run(_admin(f'CREATE DATABASE "{name}"')))
    return name, _pg_url(name)


def drop_database(name: str) -> None:
    """Drop a test database even if connections linger."""
    off_loop(lambda: asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated to head, dropped at the end."""
    name, url = create_database()
    try:
        off_loop(lambda: db.upgrade(url))
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database for one test (migration tests)."""
    name, url = create_database("tamagitto_mig")
    try:
        yield url
    finally:
        drop_database(name)


async def truncate_all(url: str) -> None:
    """Empty every table so tests don't see each other's rows."""
    engine = db.create_engine(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_sessionmaker(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the run's PostgreSQL database; tables are emptied after the test."""
    engine = db.create_engine(pg_url)
    try:
        yield db.make_sessionmaker(engine)
    finally:
        await engine.dispose()
        await truncate_all(pg_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database file for one test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'tamagitto.db'}"
    off_loop(lambda: db.upgrade(url))
    return url


@pytest.fixture
async def sqlite_sessionmaker(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a per-test SQLite database."""
    engine = db.create_engine(sqlite_url)
    try:
        yield db.make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def redis_db() -> int:
    """A Redis database number for this run (random, so parallel runs rarely meet)."""
    return random.randint(1, 15)


@pytest.fixture
async def redis_url(redis_db: int) -> AsyncIterator[str]:
    """The real Redis, with this run's database emptied before and after each test."""
    url = f"{REDIS_BASE}/{redis_db}"
    client = Redis.from_url(url)
    try:
        await client.flushdb()
        yield url
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings from environment-style names, ignoring the real environment's .env."""

    def make(**env: Any) -> Settings:
        env.setdefault("TAMAGITTO_DATA_DIR", str(tmp_path / "data"))
        values = {k: str(v) for k, v in env.items() if v is not None}
        with _patched_environ(values):
            return load_settings(env_file=None)

    return make


@contextlib.contextmanager
def _patched_environ(values: dict[str, str]) -> Iterator[None]:
    """Settings read os.environ; give them exactly these values for one load."""
    saved = dict(os.environ)
    try:
        for field in Settings.model_fields.values():
            os.environ.pop(str(field.alias), None)
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class TcpProxy:
    """A loopback TCP proxy that tests can cut, to make a real service 'go away'."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepting = True

    async def start(self) -> TcpProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.accepting = False
        for w in self._writers:
            w.close()
        self._writers.clear()

    def restore(self) -> None:
        """Accept connections again."""
        self.accepting = True

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy in front of the real Redis; `cut()` simulates Redis going away."""
    proxy = await TcpProxy("127.0.0.1", 6379).start()
    try:
        yield proxy
    finally:
        await proxy.stop()


# ---- GitHub App fixtures: a fake GitHub, signed webhooks, real example payloads ----------------

WEBHOOK_SECRET = "test-webhook-secret"
EXAMPLES_INDEX = (
    Path(__file__).resolve().parent
    / "fixtures/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
)


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """X-Hub-Signature-256 for a body, as GitHub computes it."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_headers(event: str, body: bytes, delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a delivery."""
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
    }


def webhook_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every example payload of every event type from npm's @octokit/webhooks-examples."""
    import json

    if not EXAMPLES_INDEX.is_file():
        raise RuntimeError(f"{EXAMPLES_INDEX} missing: run `npm ci` in tests/fixtures")
    groups = json.loads(EXAMPLES_INDEX.read_text())
    return [(g["name"], ex) for g in groups for ex in g["examples"]]


def example(event: str, action: str | None = None) -> dict[str, Any]:
    """The first example payload of an event (and action)."""
    import copy

    for name, payload in webhook_examples():
        if name == event and (action is None or payload.get("action") == action):
            return copy.deepcopy(payload)
    raise KeyError(f"no example for {event}.{action}")


def push_payload(
    shas: list[str],
    before: str,
    installation_id: int,
    *,
    message: str = "change",
    branch: str = "master",
    language: str = "Python",
) -> dict[str, Any]:
    """A real push example carrying these commits to `branch` of its repository."""
    payload = example("push")
    payload.update(
        ref=f"refs/heads/{branch}",
        before=before,
        after=shas[-1],
        created=False,
        deleted=False,
        installation={"id": installation_id},
        commits=[{"id": sha, "distinct": True, "message": message} for sha in shas],
    )
    payload["repository"]["language"] = language
    return payload


# What the App asked for before check runs (issue 15). An installation that has not accepted
# the new permissions keeps commit statuses; the example payloads grant `checks: write`.
STATUS_ONLY_PERMISSIONS = {"metadata": "read", "contents": "read", "statuses": "write"}


def installation_payload(
    installation_id: int,
    repositories: list[dict[str, Any]],
    permissions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A real `installation.created` example for this installation and repositories (with
    `permissions` instead of the example's, when given)."""
    payload = example("installation", "created")
    payload["installation"]["id"] = installation_id
    payload["repositories"] = repositories
    if permissions is not None:
        payload["installation"]["permissions"] = dict(permissions)
    return payload


@pytest.fixture
async def fake_github(aiohttp_server: Any) -> Any:
    """A running fake GitHub; `.url` is its base URL for GITHUB_API_URL and GITHUB_URL."""
    from tests.fakes.github import FakeGitHub

    fake = FakeGitHub()
    server = await aiohttp_server(fake.make_app())
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    assert fake.errors == [], f"requests GitHub's OpenAPI description rejects: {fake.errors}"


@pytest.fixture
def app_env(fake_github: Any) -> dict[str, str]:
    """Settings of an App registered on the fake GitHub."""
    return {
        "APP_ID": str(fake_github.app_id),
        "PRIVATE_KEY": fake_github.private_key_pem,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_URL": fake_github.url,
        "PUBLIC_URL": "http://tamagitto.test",
    }
