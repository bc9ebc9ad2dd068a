#!/usr/bin/env python3
"""Webhook received to commit status posted: 200 pushes through `tamagitto serve` + one worker.

Production mode (PostgreSQL, Redis, one `tamagitto worker`), GitHub faked on loopback with
tests/fakes/github.py (requests checked against GitHub's OpenAPI description). Each push carries
one new commit touching two Python files; pushes are sent every 50 ms and the clock runs from
sending the webhook to the fake receiving the commit status.

    uv run python bench/pipeline.py           # 200 pushes
    uv run python bench/pipeline.py --quick   # 40 pushes

Targets: p50 under 300 ms, p99 under 1 s. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import PG_ADMIN, REDIS, database, flush, free_port, wait_for  # noqa: E402
from tests.conftest import (  # noqa: E402
    WEBHOOK_SECRET,
    installation_payload,
    push_payload,
    webhook_headers,
)
from tests.fakes.github import FakeGitHub  # noqa: E402

REPO = "Codertocat/Hello-World"
INSTALLATION = 957387
TARGET_P50_MS = 300
TARGET_P99_MS = 1000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def source(i: int) -> bytes:
    """A module that grows a documented function per commit."""
    body = [f'def f{k}(x):\n    """Step {k}."""\n    return x + {k}\n\n\n' for k in range(i + 1)]
    return "".join(body).encode()


def tests_for(i: int) -> bytes:
    cases = [f"def test_f{k}():\n    assert f{k}(1) == {k + 1}\n\n\n" for k in range(i + 1)]
    return ("from calc import *\n\n\n" + "".join(cases)).encode()


def add_commits(fake: FakeGitHub, count: int, full_name: str = REPO) -> list[str]:
    """A linear history of `count` commits on master, one new commit per push."""
    shas, parent = [], "a" * 40
    for i in range(count):
        sha = uuid.uuid4().hex + "00000000"
        files: dict[str, tuple[bytes | None, bytes | None]] = {
            "calc.py": (source(i - 1) if i else None, source(i)),
            "test_calc.py": (tests_for(i - 1) if i else None, tests_for(i)),
        }
        fake.add_change(full_name, sha, parent, files, message=f"step {i}")
        shas.append(sha)
        parent = sha
    return shas


def push_body(sha: str, before: str) -> bytes:
    return json.dumps(push_payload([sha], before, INSTALLATION, message="step")).encode()


def installation_body() -> bytes:
    repo = {"id": 186853002, "full_name": REPO, "name": "Hello-World", "private": False}
    return json.dumps(installation_payload(INSTALLATION, [repo])).encode()


async def start_fake() -> tuple[FakeGitHub, Any, dict[str, float]]:
    """The fake GitHub on loopback, stamping when each status arrives."""
    from aiohttp import web

    fake = FakeGitHub()
    fake.add_installation(INSTALLATION, "Codertocat")
    fake.add_repo(
        REPO,
        repo_id=186853002,
        language="Python",
        default_branch="master",
        installation_id=INSTALLATION,
    )
    arrived: dict[str, float] = {}

    @web.middleware
    async def stamp(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.method == "POST" and "/statuses/" in request.path:
            arrived.setdefault(request.path.rsplit("/", 1)[1], time.perf_counter())
        return response

    app = fake.make_app()
    app.middlewares.append(stamp)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    return fake, runner, arrived


async def wait_until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return False


async def drive(
    port: int, fake: FakeGitHub, arrived: dict[str, float], pushes: int, interval: float
) -> list[float]:
    """Install, then send the pushes at a steady pace; latencies in ms."""
    import aiohttp

    shas = add_commits(fake, pushes + 1)
    url = f"http://127.0.0.1:{port}/webhook/github"
    async with aiohttp.ClientSession() as session:
        body = installation_body()
        async with session.post(url, data=body, headers=webhook_headers("installation", body)):
            pass
        await asyncio.sleep(1.0)
        # warm-up push: first-use costs (grammars, connections) are not what we measure
        sent: dict[str, float] = {}
        for i, sha in enumerate(shas):
            body = push_body(sha, shas[i - 1] if i else "a" * 40)
            sent[sha] = time.perf_counter()
            async with session.post(url, data=body, headers=webhook_headers("push", body)) as r:
                if r.status != 202:
                    raise RuntimeError(f"push {i} answered {r.status}: {await r.text()}")
            if i == 0:
                await wait_until(lambda: shas[0] in arrived, 30)
            await asyncio.sleep(interval)
        await wait_until(lambda: all(s in arrived for s in shas), 60)
    missing = [s for s in shas if s not in arrived]
    if missing:
        raise RuntimeError(f"{len(missing)} statuses never arrived")
    if fake.errors:
        raise RuntimeError(f"requests the OpenAPI description rejects: {fake.errors[:3]}")
    return [(arrived[s] - sent[s]) * 1000 for s in shas[1:]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def start_processes(env: dict[str, str], cwd: str) -> list[subprocess.Popen[bytes]]:
    """`tamagitto serve` and one `tamagitto worker`, each in its own process group."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "app", command], env=env, cwd=cwd, start_new_session=True
        )
        for command in ("serve", "worker")
    ]


async def run(db_url: str, pushes: int, interval: float) -> list[float]:
    fake, runner, arrived = await start_fake()
    redis_url = f"{REDIS}/{random.randint(1, 15)}"
    flush(redis_url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as cwd:
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_url,
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LOG_LEVEL": "warn",
                "PORT": str(port),
                "APP_ID": str(fake.app_id),
                "PRIVATE_KEY": fake.private_key_pem,
                "GITHUB_API_URL": fake.url,
                "GITHUB_URL": fake.url,
                "PYTHONPATH": str(ROOT),
            }
            procs = await asyncio.to_thread(start_processes, env, cwd)
            await asyncio.to_thread(wait_for, port, "/healthz")
            return await drive(port, fake, arrived, pushes, interval)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)
        await runner.cleanup()
        flush(redis_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 pushes")
    parser.add_argument("--pushes", type=int, default=None)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between pushes")
    args = parser.parse_args()
    pushes = args.pushes or (40 if args.quick else 200)
    log(f"{pushes} pushes, one every {args.interval * 1000:.0f} ms; PostgreSQL {PG_ADMIN}")
    with database() as db_url:
        latencies = asyncio.run(run(db_url, pushes, args.interval))
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    log(f"webhook → status: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(latencies):.0f} ms")
    print(
        json.dumps(
            {
                "pushes": len(latencies),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "max_ms": round(max(latencies), 1),
                "target_p50_ms": TARGET_P50_MS,
                "target_p99_ms": TARGET_P99_MS,
                "ratio": round(TARGET_P50_MS / p50, 2),
                "p99_ratio": round(TARGET_P99_MS / p99, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
