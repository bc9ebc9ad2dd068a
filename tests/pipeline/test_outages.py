"""Acknowledged pushes survive a database outage and a worker killed mid-job.

The database outage is a cut TCP proxy in front of the real PostgreSQL (the server itself is
never stopped). The crash is a real `tamagitto worker` process killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.core.config import Settings
from app.core.models import CommitAnalysis
from app.infra.runtime import RUNTIME
from tests.conftest import TcpProxy
from tests.fakes.github_checks import final_statuses
from tests.pipeline.conftest import CALC_AFTER, CALC_BEFORE, REPO, TEST_AFTER, Pipeline
from worker.durable import DurableWorker
from worker.settings import worker_kwargs

ROOT = Path(__file__).resolve().parents[2]
BASE = "b" * 40


async def analysed(p: Pipeline) -> int:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(CommitAnalysis)) or 0)


async def until_analysed(p: Pipeline, count: int, timeout: float) -> float | None:
    """Seconds until `count` analyses exist, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await analysed(p) >= count:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return None


def commit(p: Pipeline, sha: str, parent: str = BASE) -> None:
    p.add_commit(
        sha, parent, {"calc.py": (CALC_BEFORE, CALC_AFTER), "test_calc.py": (None, TEST_AFTER)}
    )


async def test_pushes_acknowledged_while_the_database_is_down_are_analysed(
    pipeline: Pipeline,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    pg_url: str,
) -> None:
    p = pipeline
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    settings = make_settings(**app_env, DATABASE_URL=url, REDIS_URL=p.redis_url)
    worker = DurableWorker(
        **worker_kwargs(settings, poll_delay=0.05, handle_signals=False, max_jobs=4)
    )
    running = asyncio.ensure_future(worker.async_run())
    try:
        for _ in range(200):  # the worker is up (its resources open) before the outage
            if "sessionmaker" in worker.ctx:
                break
            await asyncio.sleep(0.05)
        shas = [f"{i}" * 40 for i in range(1, 4)]
        for i, sha in enumerate(shas):
            commit(p, sha, shas[i - 1] if i else BASE)
        proxy.cut()
        for i, sha in enumerate(shas):
            assert await p.deliver("push", p.push([sha], shas[i - 1] if i else BASE)) == 202
        await asyncio.sleep(3.0)  # every try so far met the outage
        assert await analysed(p) == 0
        proxy.restore()
        assert await until_analysed(p, len(shas), 45) is not None, "acknowledged pushes lost"
        assert sorted(s["sha"] for s in final_statuses(p.fake.statuses)) == sorted(shas)
        assert worker.jobs_retried >= 1 and worker.jobs_failed == 0
    finally:
        worker.handle_sig(signal.SIGTERM)
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
        await proxy.stop()


def slow_commit_fetch(p: Pipeline, sha: str) -> asyncio.Event:
    """GET of this commit waits for the returned event: the job is mid-flight meanwhile."""
    gate = asyncio.Event()
    path = f"/repos/{REPO}/commits/{sha}"
    for index, (method, pattern, route) in enumerate(p.fake._routes):
        if method == "GET" and pattern.match(path):

            async def held(*args: Any, _route: Any = route) -> Any:
                await gate.wait()
                return await _route(*args)

            p.fake._routes[index] = (method, pattern, held)
            return gate
    raise AssertionError("the fake has no route for a commit")


def fetching(p: Pipeline, sha: str) -> bool:
    return any(r.method == "GET" and r.path.endswith(f"/commits/{sha}") for r in p.fake.requests)


def _worker_process(env: dict[str, str], cwd: Path, err: Path) -> subprocess.Popen[bytes]:
    """A real `tamagitto worker` with these settings (its stderr kept for a failure's message)."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "warn", **env},
        stderr=err.open("ab"),
        start_new_session=True,
    )


async def test_a_job_of_a_killed_worker_runs_again_within_a_minute(
    pipeline: Pipeline, tmp_path: Path, app_env: dict[str, str], pg_url: str
) -> None:
    """kill -9 while the job waits on GitHub: another worker picks it up within 60 s."""
    p = pipeline
    sha = "c" * 40
    commit(p, sha)
    gate = slow_commit_fetch(p, sha)
    env = {**app_env, "DATABASE_URL": pg_url, "REDIS_URL": p.redis_url}
    err = tmp_path / "worker.log"
    first = _worker_process(env, tmp_path, err)
    second: subprocess.Popen[bytes] | None = None
    try:
        assert await p.deliver("push", p.push([sha], BASE)) == 202
        for _ in range(300):  # until the first worker is inside analyze_commit
            if fetching(p, sha):
                break
            await asyncio.sleep(0.1)
        assert fetching(p, sha), f"the job never started: {err.read_text()[-2000:]}"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        gate.set()
        second = _worker_process(env, tmp_path, err)
        waited = await until_analysed(p, 1, 75)
        assert waited is not None, "the killed worker's job never ran again"
        assert time.monotonic() - killed_at < 60
        assert [s["sha"] for s in final_statuses(p.fake.statuses)] == [sha]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
