"""Processes under faults: `serve --workers 2` stops whole, a worker rides out a Redis restart.

These tests run real processes. The Redis one starts its own redis-server on a free port, with
the persistence production uses, and kills only that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool

from app.core.config import Settings
from app.infra.job_context import JobContext
from app.infra.queue.arq import ArqQueue
from app.infra.registry import as_arq, durable
from app.web.factory import init_app
from tests.redis_server import RedisServer, free_port
from worker.durable import DurableWorker

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture
def serve(
    tmp_path: Path, pg_url: str, redis_db: int
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`tamagitto serve --workers 2` answering on a free port; whatever is left is killed."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": pg_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "PORT": str(port),
        "LOG_LEVEL": "warn",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait(lambda: _answers(port) and len(_children(proc.pid)) == 2, 60)
        yield proc, port
    finally:
        kill_group(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the test's process group, however far the test got."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_with_its_children_on_a_signal(
    serve: tuple[subprocess.Popen[bytes], int], sig: signal.Signals
) -> None:
    proc, port = serve
    children = _children(proc.pid)
    proc.send_signal(sig)  # the parent only, as a supervisor (compose, systemd) does
    assert proc.wait(30) == 0
    assert not [c for c in children if _alive(c)]
    assert not _answers(port)


def test_serve_children_die_when_the_parent_is_killed(
    serve: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = serve
    children = _children(proc.pid)
    proc.kill()
    proc.wait(10)
    assert _wait(lambda: not [c for c in children if _alive(c)], 20)
    assert not _answers(port)


ran: list[str] = []


async def note(ctx: JobContext, key: str) -> None:
    ran.append(key)


async def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def _enqueue_when_back(queue: ArqQueue, key: str) -> bool:
    """The first call after a restart may meet a dead pooled connection: the caller retries."""
    for _ in range(50):
        try:
            return await queue.enqueue("note", key)
        except Exception:
            await asyncio.sleep(0.1)
    return False


async def test_worker_and_readyz_ride_out_a_redis_restart(
    tmp_path: Path,
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    pg_url: str,
) -> None:
    """kill -9 of redis-server: the worker waits and goes on, nothing acknowledged is lost."""
    ran.clear()
    server = RedisServer(tmp_path / "redis").start()
    worker: DurableWorker | None = None
    pool = await create_pool(RedisSettings.from_dsn(server.url()))
    try:
        settings = make_settings(DATABASE_URL=pg_url, REDIS_URL=server.url())
        client = await aiohttp_client(init_app(settings, run_jobs=False))
        ready = await client.get("/readyz")
        assert ready.status == 200 and "warnings" not in await ready.json()
        worker = DurableWorker(
            functions=[as_arq(durable(note))],
            redis_settings=RedisSettings.from_dsn(server.url()),
            poll_delay=0.05,
            handle_signals=False,
        )
        running = asyncio.ensure_future(worker.async_run())
        queue = ArqQueue(pool)
        assert await queue.enqueue("note", "before")
        assert await _until(lambda: ran == ["before"], 10)

        # acknowledged (due in 2 s), then Redis dies before the polling worker can run it
        assert await queue.enqueue("note", "acknowledged", defer_by=2.0)
        server.kill()
        down = await client.get("/readyz")
        assert down.status == 503 and "redis" in (await down.json())["failing"]
        await asyncio.sleep(1.0)
        assert not running.done(), "the worker stopped when Redis went away"

        server.start()
        assert await _until(lambda: "acknowledged" in ran, 20), "lost across the restart"
        assert await _enqueue_when_back(queue, "after")
        assert await _until(lambda: "after" in ran, 20)
        assert not running.done()
        assert worker.redis_outages >= 1
        assert (await client.get("/readyz")).status == 200
    finally:
        if worker is not None:
            worker.handle_sig(signal.SIGTERM)
            await asyncio.gather(running, return_exceptions=True)
            await asyncio.gather(worker.close(), return_exceptions=True)
        await pool.aclose()
        server.stop()
