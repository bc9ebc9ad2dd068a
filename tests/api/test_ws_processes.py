"""Fan-out across two real `tamagitto serve` processes through the real Redis."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.infra.bus import RedisBus, event_channel
from tests.api.conftest import seed_repo
from tests.api.test_ws import event, next_event
from tests.fakes.github_user import FakeGitHubUser

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web_processes(api_env: dict[str, str], tmp_path: Path) -> Iterator[list[int]]:
    """Two production-mode web processes sharing PostgreSQL and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in api_env}
    env.update(api_env)
    env.update(
        DATABASE_URL=api_env["DATABASE_URL"].replace("+asyncpg", ""),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="warning",
        TAMAGITTO_DATA_DIR=str(tmp_path),
    )
    ports = [_port(), _port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"web-{port}.log").open("wb"),
        )
        for port in ports
    ]
    try:
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


async def _ready(session: aiohttp.ClientSession, port: int) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def test_event_reaches_sockets_in_both_processes(
    web_processes: list[int],
    github: FakeGitHubUser,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> None:
    public = await seed_repo(db, github, "acme/open", private=False)
    publisher = Redis.from_url(redis_url)
    async with aiohttp.ClientSession() as http:
        for port in web_processes:
            await _ready(http, port)
        socks = [
            await http.ws_connect(f"http://127.0.0.1:{port}/api/ws?repository=acme/open")
            for port in web_processes
        ]
        try:
            for sock in socks:
                snapshot = await next_event(sock)
                assert [e["id"] for e in snapshot["entities"]] == [public.entity_id]
            await RedisBus(publisher, event_channel(redis_url)).publish(
                event(public, 55)
            )  # as a worker would
            for sock in socks:
                got = await next_event(sock, timeout=10)
                assert got["entity_id"] == public.entity_id and got["health_score"] == 55
        finally:
            for sock in socks:
                await sock.close()
            await publisher.aclose()
