#!/usr/bin/env python3
"""Webhook received to result posted: 200 pushes and 200 pull requests through `tamagitto
serve` + one worker.

Production mode (PostgreSQL, Redis, one `tamagitto worker`), GitHub faked on loopback with
tests/fakes/github.py (requests checked against GitHub's OpenAPI description).

- **Pushes** (an installation that granted statuses only, as before check runs): each carries
  one new commit touching two Python files, sent every 50 ms; the clock runs from sending the
  webhook to the fake receiving the commit's final (not `pending`) status.
- **Pull requests** (an installation that granted `checks: write`): each `opened` event brings
  one commit on its own branch, sent every 50 ms; two clocks run from sending the webhook, to
  the check run created `in_progress` and to it being completed with the forecast.

    uv run python bench/pipeline.py           # 200 pushes, 200 pull requests
    uv run python bench/pipeline.py --quick   # 40 of each

Targets: pushes p50 under 300 ms and p99 under 1 s; pull requests in progress within 300 ms at
p99 and completed within 1 s at p50. The last line is one JSON object.
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
    STATUS_ONLY_PERMISSIONS,
    WEBHOOK_SECRET,
    example,
    installation_payload,
    push_payload,
    webhook_headers,
)
from tests.fakes.github import FakeGitHub  # noqa: E402

REPO = "Codertocat/Hello-World"
INSTALLATION = 957387
PR_REPO = "Codertocat/Pulls"
PR_REPO_ID = 186853099
PR_INSTALLATION = 957388
TARGET_P50_MS = 300
TARGET_P99_MS = 1000
TARGET_PR_IN_PROGRESS_P99_MS = 300
TARGET_PR_COMPLETED_P50_MS = 1000


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
    payload = installation_payload(INSTALLATION, [repo], STATUS_ONLY_PERMISSIONS)
    return json.dumps(payload).encode()


def pr_installation_body() -> bytes:
    """The example installation's permissions: `checks: write` among them."""
    repo = {"id": PR_REPO_ID, "full_name": PR_REPO, "name": "Pulls", "private": False}
    return json.dumps(installation_payload(PR_INSTALLATION, [repo])).encode()


def pr_body(number: int, head: str, base: str) -> bytes:
    """A real `pull_request.opened` example for PR_REPO's pull request `number`."""
    payload = example("pull_request", "opened")
    payload.update(number=number, installation={"id": PR_INSTALLATION})
    payload["repository"].update(id=PR_REPO_ID, full_name=PR_REPO, name="Pulls", language="Python")
    pr = payload["pull_request"]
    pr.update(number=number, state="open", draft=False)
    pr["head"].update(sha=head, ref=f"feature-{number}")
    pr["base"].update(sha=base, ref="master")
    pr["base"]["repo"] = {**pr["base"]["repo"], "id": PR_REPO_ID, "full_name": PR_REPO}
    return json.dumps(payload).encode()


def add_pulls(fake: FakeGitHub, count: int, base: str) -> list[str]:
    """`count` pull requests, numbered from 1, each one commit on its own branch off `base`."""
    heads = []
    for number in range(1, count + 1):
        head = uuid.uuid4().hex + "00000000"
        files: dict[str, tuple[bytes | None, bytes | None]] = {
            "calc.py": (source(3), source(4 + number % 5)),
            "test_calc.py": (tests_for(3), tests_for(4 + number % 5)),
        }
        fake.add_change(PR_REPO, head, base, files, message=f"feature {number}", branch="pr")
        fake.checks.add_pull(PR_REPO, number, [head])
        heads.append(head)
    return heads


async def start_fake() -> tuple[FakeGitHub, Any, dict[str, float]]:
    """The fake GitHub on loopback, stamping when each status arrives."""
    from aiohttp import web

    fake = FakeGitHub()
    fake.add_installation(INSTALLATION, "Codertocat")
    fake.installations[INSTALLATION]["permissions"] = STATUS_ONLY_PERMISSIONS
    fake.add_repo(
        REPO,
        repo_id=186853002,
        language="Python",
        default_branch="master",
        installation_id=INSTALLATION,
    )
    fake.add_installation(PR_INSTALLATION, "Codertocat")
    fake.add_repo(
        PR_REPO,
        repo_id=PR_REPO_ID,
        language="Python",
        default_branch="master",
        installation_id=PR_INSTALLATION,
    )
    arrived: dict[str, float] = {}

    @web.middleware
    async def stamp(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        final = request.method == "POST" and "/statuses/" in request.path
        if final and (await request.json()).get("state") != "pending":
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


def run_times(fake: FakeGitHub) -> tuple[dict[str, float], dict[str, float]]:
    """When each head's check run was created in progress, and when it was completed."""
    started: dict[str, float] = {}
    completed: dict[str, float] = {}
    for at, status, _, head in fake.checks.stamps:
        target = completed if status == "completed" else started
        target.setdefault(head, at)
    return started, completed


async def drive_prs(
    port: int, fake: FakeGitHub, count: int, interval: float
) -> tuple[list[float], list[float]]:
    """Install the second repository, then open the pull requests at a steady pace; the
    latencies to in progress and to completed, in ms."""
    import aiohttp

    heads = add_pulls(fake, count + 1, "e" * 40)
    url = f"http://127.0.0.1:{port}/webhook/github"
    async with aiohttp.ClientSession() as session:
        body = pr_installation_body()
        async with session.post(url, data=body, headers=webhook_headers("installation", body)):
            pass
        await asyncio.sleep(1.0)
        sent: dict[str, float] = {}
        for number, head in enumerate(heads, 1):  # the first is the warm-up
            body = pr_body(number, head, "e" * 40)
            sent[head] = time.perf_counter()
            async with session.post(
                url, data=body, headers=webhook_headers("pull_request", body)
            ) as r:
                if r.status != 202:
                    raise RuntimeError(f"pull request {number} answered {r.status}")
            if number == 1:
                await wait_until(lambda: heads[0] in run_times(fake)[1], 30)
            await asyncio.sleep(interval)
        await wait_until(lambda: len(run_times(fake)[1]) >= len(heads), 60)
    started, completed = run_times(fake)
    if len(completed) < len(heads) or fake.checks.in_progress():
        raise RuntimeError(f"{len(heads) - len(completed)} check runs were never completed")
    if fake.errors:
        raise RuntimeError(f"requests the OpenAPI description rejects: {fake.errors[:3]}")
    measured = heads[1:]
    return (
        [(started[h] - sent[h]) * 1000 for h in measured],
        [(completed[h] - sent[h]) * 1000 for h in measured],
    )


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


async def run(db_url: str, pushes: int, prs: int, interval: float) -> tuple[list[float], ...]:
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
            pushed = await drive(port, fake, arrived, pushes, interval)
            started, completed = await drive_prs(port, fake, prs, interval)
            return pushed, started, completed
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)
        await runner.cleanup()
        flush(redis_url)


def figures(values: list[float]) -> tuple[float, float]:
    """p50 and p99."""
    return percentile(values, 50), percentile(values, 99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 pushes and 40 pull requests")
    parser.add_argument("--pushes", type=int, default=None)
    parser.add_argument("--prs", type=int, default=None)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    args = parser.parse_args()
    pushes = args.pushes or (40 if args.quick else 200)
    prs = args.prs or (40 if args.quick else 200)
    log(
        f"{pushes} pushes and {prs} pull requests, one every {args.interval * 1000:.0f} ms; "
        f"PostgreSQL {PG_ADMIN}"
    )
    with database() as db_url:
        latencies, started, completed = asyncio.run(run(db_url, pushes, prs, args.interval))
    p50, p99 = figures(latencies)
    s50, s99 = figures(started)
    c50, c99 = figures(completed)
    log(f"webhook → status: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(latencies):.0f} ms")
    log(f"pull request → check run in progress: p50 {s50:.0f} ms, p99 {s99:.0f} ms")
    log(f"pull request → check run completed: p50 {c50:.0f} ms, p99 {c99:.0f} ms")
    print(
        json.dumps(
            {
                "pushes": len(latencies),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "max_ms": round(max(latencies), 1),
                "target_p50_ms": TARGET_P50_MS,
                "target_p99_ms": TARGET_P99_MS,
                "prs": len(started),
                "pr_in_progress_p50_ms": round(s50, 1),
                "pr_in_progress_p99_ms": round(s99, 1),
                "pr_completed_p50_ms": round(c50, 1),
                "pr_completed_p99_ms": round(c99, 1),
                "target_pr_in_progress_p99_ms": TARGET_PR_IN_PROGRESS_P99_MS,
                "target_pr_completed_p50_ms": TARGET_PR_COMPLETED_P50_MS,
                "pr_in_progress_ratio": round(TARGET_PR_IN_PROGRESS_P99_MS / s99, 2),
                "pr_completed_ratio": round(TARGET_PR_COMPLETED_P50_MS / c50, 2),
                "ratio": round(TARGET_P50_MS / p50, 2),
                "p99_ratio": round(TARGET_P99_MS / p99, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
