"""Production-mode pipeline fixtures: the app, a real arq worker, a fake GitHub with commits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from app.core.config import Settings
from app.infra.bus import RedisBus, event_channel
from app.web.factory import init_app
from tests.conftest import (
    STATUS_ONLY_PERMISSIONS,
    installation_payload,
    push_payload,
    truncate_all,
    webhook_headers,
)
from tests.fakes.github import FakeGitHub
from worker.durable import DurableWorker
from worker.settings import worker_kwargs

INSTALLATION = 957387
REPO = "Codertocat/Hello-World"

CALC_BEFORE = b"""def add(a, b):
    return a + b
"""
CALC_AFTER = b'''def add(a, b):
    """Add two numbers."""
    return a + b


def clamp(value, low, high):
    """Keep value within [low, high]."""
    return max(low, min(high, value))
'''
TEST_AFTER = b"""from calc import add, clamp


def test_add():
    assert add(1, 2) == 3


def test_clamp():
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0
"""


@dataclass
class Pipeline:
    """Everything a pipeline test drives."""

    client: Any
    fake: FakeGitHub
    settings: Settings
    redis_url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    repo_id: int = 0

    async def deliver(
        self, event: str, payload: dict[str, Any], delivery: str | None = None
    ) -> int:
        body = json.dumps(payload).encode()
        resp = await self.client.post(
            "/webhook/github", data=body, headers=webhook_headers(event, body, delivery)
        )
        return int(resp.status)

    async def work(self) -> DurableWorker:
        """Run a burst worker until the queue is empty (jobs queued by jobs included)."""
        worker = DurableWorker(
            **worker_kwargs(self.settings, burst=True, poll_delay=0.05, max_jobs=4)
        )
        try:
            await worker.async_run()
        finally:
            await worker.close()
        return worker

    def add_commit(
        self,
        sha: str,
        parent: str,
        files: dict[str, tuple[bytes | None, bytes | None]],
        message: str = "change",
    ) -> None:
        self.fake.add_change(REPO, sha, parent, files, message=message)

    def push(self, shas: list[str], before: str) -> dict[str, Any]:
        return push_payload(shas, before, INSTALLATION)


@pytest.fixture
def installation_permissions() -> dict[str, str] | None:
    """What the installation granted: here, statuses only (the App before check runs); test
    modules about check runs override it with None, the example's permissions (all)."""
    return STATUS_ONLY_PERMISSIONS


@pytest.fixture
async def pipeline(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    fake_github: FakeGitHub,
    pg_url: str,
    redis_url: str,
    installation_permissions: dict[str, str] | None,
) -> AsyncIterator[Pipeline]:
    """An installed App with one Python repository, in production mode."""
    settings = make_settings(**app_env, DATABASE_URL=pg_url, REDIS_URL=redis_url)
    await truncate_all(pg_url)  # the run's database is shared with other modules
    fake_github.add_installation(INSTALLATION, "Codertocat")
    if installation_permissions is not None:
        fake_github.installations[INSTALLATION]["permissions"] = installation_permissions
    fake_github.add_repo(
        REPO,
        repo_id=186853002,
        language="Python",
        default_branch="master",
        installation_id=INSTALLATION,
    )
    client = await aiohttp_client(init_app(settings))
    pipe = Pipeline(client, fake_github, settings, redis_url)
    created = installation_payload(
        INSTALLATION,
        [{"id": 186853002, "full_name": REPO, "name": "Hello-World", "private": False}],
        installation_permissions,
    )
    assert await pipe.deliver("installation", created) == 202
    listener = Redis.from_url(redis_url)
    bus = RedisBus(listener, event_channel(redis_url))
    await bus.start()
    async with bus.subscribe() as sub:
        pipe.events = _Collector(sub)  # type: ignore[assignment]
        await pipe.work()
        yield pipe
    await bus.stop()
    await listener.aclose()
    await truncate_all(pg_url)


class _Collector(list):  # type: ignore[type-arg]
    """Events received so far, drained from the subscription on each read."""

    def __init__(self, sub: Any) -> None:
        super().__init__()
        self.sub = sub

    def drain(self) -> list[dict[str, Any]]:
        while not self.sub.queue.empty():
            self.append(self.sub.queue.get_nowait())
        return list(self)
