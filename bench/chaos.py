#!/usr/bin/env python3
"""Nothing acknowledged is lost: faults under a steady stream of signed pushes, real processes.

It creates (and drops) its own PostgreSQL database, runs its own redis-server on a free port
with the persistence production uses (appendonly yes, appendfsync always), `tamagitto serve
--workers 2` and `tamagitto worker`, and a fake GitHub (tests/fakes/github.py), all on
127.0.0.1. PostgreSQL is reached through a TCP proxy the bench can cut; the machine's
PostgreSQL and Redis are never stopped.

Each fault gets its own repository and a bounded stream of one-commit pushes; the fault hits
in the middle of the stream:

  postgres_down   the proxy to PostgreSQL refuses and drops connections for a few seconds
  worker_kill     `kill -9` of the worker, restarted right away (as a supervisor would)
  redis_kill      `kill -9` of redis-server, restarted a second later on the same files
  serve_sigterm   SIGTERM to `serve --workers 2`: it must drain and exit with its children,
                  then it is started again

For each: acknowledged (2xx) pushes, processed (commits analysed), lost (acknowledged, never
analysed), doubled (analyses or history rows beyond one per acknowledged commit), and recovery
(from the end of the fault until every acknowledged commit is analysed). Faults overlap in
recovery (a killed worker's job waits out its 40 s lock while the next fault runs).

    uv run python bench/chaos.py            # 60 pushes per fault
    uv run python bench/chaos.py --quick    # 24 pushes per fault, under a minute

Target: lost 0 and doubled 0 everywhere. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import PG_ADMIN, database, free_port, keep_bytecode, server_env  # noqa: E402

if __name__ == "__main__":
    keep_bytecode()  # what follows imports most of the app and its tests

from bench.pipeline import add_commits, installation_body  # noqa: E402
from tests.conftest import WEBHOOK_SECRET, TcpProxy, push_payload, webhook_headers  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

INSTALLATION = 957387
OWNER = "Codertocat"
FAULTS = ("worker_kill", "postgres_down", "redis_kill", "serve_sigterm")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def repo_name(fault: str) -> str:
    return f"{OWNER}/chaos-{fault.replace('_', '-')}"


def repo_id(fault: str) -> int:
    return 700_000 + FAULTS.index(fault)


@dataclass
class Outcome:
    """One fault's figures."""

    fault: str
    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)
    fault_end: float = 0.0
    processed: int = 0
    lost: int = 0
    doubled: int = 0
    recovery_s: float | None = None
    note: str = ""


class Stack:
    """The processes under test and the handles to break them."""

    def __init__(self, tmp: Path, db_url: str, fake: FakeGitHub, proxy: TcpProxy) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.redis = RedisServer(tmp / "redis").start()
        self.fake = fake
        self.proxy = proxy
        proxied = db_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        self.env = {
            **server_env(dict(os.environ)),
            "DATABASE_URL": proxied,
            "REDIS_URL": self.redis.url(0),
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOG_LEVEL": "error",
            "PORT": str(self.port),
            "APP_ID": str(fake.app_id),
            "PRIVATE_KEY": fake.private_key_pem,
            "GITHUB_API_URL": fake.url,
            "GITHUB_URL": fake.url,
            "PYTHONPATH": str(ROOT),
        }
        self.serve: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        out = (self.tmp / f"{args[0]}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            env=self.env,
            cwd=self.tmp,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )

    def start_serve(self) -> None:
        self.serve = self._spawn("serve", "--workers", "2")

    def start_worker(self) -> None:
        self.worker = self._spawn("worker")

    def children(self) -> list[int]:
        assert self.serve is not None
        out = subprocess.run(["pgrep", "-P", str(self.serve.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    async def ready(self, timeout: float = 60) -> None:
        """Until /readyz answers 200 (database and Redis reachable from the web process)."""
        import aiohttp

        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("tamagitto serve never became ready")

    async def stop(self) -> None:
        """SIGTERM both, then wait off the event loop.

        The PostgreSQL proxy runs on this loop: blocking it in `wait()` kept the worker from
        closing its database connections, so it never exited and was killed after 20 s.
        """
        for proc in (self.serve, self.worker):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in (("serve", self.serve), ("worker", self.worker)):
            if proc is None:
                continue
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                log(f"{name} did not exit within 20 s of SIGTERM; killed")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.redis.stop()


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def postgres_down(stack: Stack, outcome: Outcome, seconds: float) -> None:
    stack.proxy.cut()
    await asyncio.sleep(seconds)
    stack.proxy.restore()


async def worker_kill(stack: Stack, outcome: Outcome, seconds: float) -> None:
    assert stack.worker is not None
    os.killpg(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait(10)
    stack.start_worker()


async def redis_kill(stack: Stack, outcome: Outcome, seconds: float) -> None:
    stack.redis.kill()
    await asyncio.sleep(min(seconds, 1.0))
    await asyncio.to_thread(stack.redis.start)


async def serve_sigterm(stack: Stack, outcome: Outcome, seconds: float) -> None:
    assert stack.serve is not None
    children = stack.children()
    started = time.monotonic()
    stack.serve.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(stack.serve.wait, 30)
    orphans = [c for c in children if alive(c)]
    outcome.note = (
        f"exit {code} in {time.monotonic() - started:.1f} s, {len(orphans)} orphaned children"
    )
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    stack.start_serve()
    await stack.ready()


FAULT_FUNCTIONS: dict[str, Callable[[Stack, Outcome, float], Awaitable[None]]] = {
    "postgres_down": postgres_down,
    "worker_kill": worker_kill,
    "redis_kill": redis_kill,
    "serve_sigterm": serve_sigterm,
}


def push_body(fault: str, sha: str, before: str) -> bytes:
    payload = push_payload([sha], before, INSTALLATION, message="step")
    payload["repository"].update(
        id=repo_id(fault), full_name=repo_name(fault), name=repo_name(fault).split("/")[1]
    )
    return json.dumps(payload).encode()


async def send(session: Any, port: int, event: str, body: bytes) -> bool:
    """One delivery; True when it was acknowledged (2xx)."""
    import aiohttp

    try:
        async with session.post(
            f"http://127.0.0.1:{port}/webhook/github",
            data=body,
            headers=webhook_headers(event, body),
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            return 200 <= resp.status < 300
    except (aiohttp.ClientError, TimeoutError):
        return False


async def run_fault(
    stack: Stack, fault: str, pushes: int, interval: float, fault_seconds: float
) -> Outcome:
    """Stream the pushes; the fault starts a third of the way in."""
    import aiohttp

    outcome = Outcome(fault)
    shas = add_commits(stack.fake, pushes, repo_name(fault))
    hit_at = pushes // 3
    fault_task: asyncio.Task[None] | None = None
    async with aiohttp.ClientSession() as session:
        for i, sha in enumerate(shas):
            if i == hit_at:
                fault_task = asyncio.create_task(inject(stack, outcome, fault_seconds))
            body = push_body(fault, sha, shas[i - 1] if i else "a" * 40)
            outcome.sent += 1
            if await send(session, stack.port, "push", body):
                outcome.acknowledged.append(sha)
            await asyncio.sleep(interval)
        assert fault_task is not None
        await fault_task
    return outcome


async def inject(stack: Stack, outcome: Outcome, seconds: float) -> None:
    """Run the fault; its end is when recovery time starts counting."""
    await FAULT_FUNCTIONS[outcome.fault](stack, outcome, seconds)
    outcome.fault_end = time.monotonic()


async def counts(db_url: str) -> dict[str, tuple[set[str], int, int]]:
    """Per repository: analysed shas, analyses, and history rows of analyses."""
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            """
            SELECT r.full_name, a.sha,
                   (SELECT count(*) FROM health_history h WHERE h.analysis_id = a.id) AS history
            FROM commit_analyses a JOIN repositories r ON r.id = a.repository_id
            """
        )
    finally:
        await conn.close()
    result: dict[str, tuple[set[str], int, int]] = {}
    for row in rows:
        shas, analyses, history = result.get(row["full_name"], (set(), 0, 0))
        shas.add(row["sha"])
        result[row["full_name"]] = (shas, analyses + 1, history + int(row["history"]))
    return result


async def settle(db_url: str, outcomes: list[Outcome], timeout: float) -> None:
    """Wait until every acknowledged commit is analysed (or the timeout); fill the figures."""
    deadline = time.monotonic() + timeout
    while True:
        seen = await counts(db_url)
        now = time.monotonic()
        for o in outcomes:
            shas, _, _ = seen.get(repo_name(o.fault), (set(), 0, 0))
            if o.recovery_s is None and set(o.acknowledged) <= shas:
                o.recovery_s = max(0.0, now - o.fault_end)
        if all(o.recovery_s is not None for o in outcomes) or now > deadline:
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1.0)  # anything still running that would double a commit shows now
    seen = await counts(db_url)
    for o in outcomes:
        shas, analyses, history = seen.get(repo_name(o.fault), (set(), 0, 0))
        acked = set(o.acknowledged)
        o.processed = len(shas & acked)
        o.lost = len(acked - shas)
        o.doubled = max(0, analyses - len(shas)) + max(0, history - analyses)


async def start_fake() -> tuple[FakeGitHub, Any]:
    from aiohttp import web

    fake = FakeGitHub()
    fake.add_installation(INSTALLATION, OWNER)
    for fault in FAULTS:
        fake.add_repo(
            repo_name(fault),
            repo_id=repo_id(fault),
            language="Python",
            default_branch="master",
            installation_id=INSTALLATION,
        )
    runner = web.AppRunner(fake.make_app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    return fake, runner


def installation() -> bytes:
    payload = json.loads(installation_body())
    payload["repositories"] = [
        {
            "id": repo_id(f),
            "full_name": repo_name(f),
            "name": repo_name(f).split("/")[1],
            "private": False,
        }
        for f in FAULTS
    ]
    return json.dumps(payload).encode()


async def wait_installed(db_url: str, timeout: float = 30) -> None:
    import asyncpg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            found = await conn.fetchval("SELECT count(*) FROM repositories")
        finally:
            await conn.close()
        if found >= len(FAULTS):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the installation was never processed")


async def run(db_url: str, args: argparse.Namespace, tmp: Path) -> list[Outcome]:
    fake, runner = await start_fake()
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    stack = Stack(tmp, db_url, fake, proxy)
    try:
        starting = time.monotonic()
        stack.start_serve()
        stack.start_worker()
        await stack.ready()
        log(f"serve ready in {time.monotonic() - starting:.1f} s")
        import aiohttp

        async with aiohttp.ClientSession() as session:
            if not await send(session, stack.port, "installation", installation()):
                raise RuntimeError("the installation delivery was refused")
        await wait_installed(db_url)
        outcomes = []
        for fault in args.faults:
            log(f"{fault}: {args.pushes} pushes, one every {args.interval * 1000:.0f} ms")
            outcomes.append(
                await run_fault(stack, fault, args.pushes, args.interval, args.fault_seconds)
            )
        settling = time.monotonic()
        await settle(db_url, outcomes, args.settle)
        log(f"settled in {time.monotonic() - settling:.1f} s")
        if fake.errors:
            log(f"requests GitHub's OpenAPI description rejects: {fake.errors[:3]}")
        return outcomes
    finally:
        stopping = time.monotonic()
        await stack.stop()
        log(f"stopped in {time.monotonic() - stopping:.1f} s")
        await proxy.stop()
        await runner.cleanup()


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| fault | sent | acknowledged | processed | lost | doubled | recovery | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        recovery = f"{o.recovery_s:.1f} s" if o.recovery_s is not None else "never"
        lines.append(
            f"| {o.fault} | {o.sent} | {len(o.acknowledged)} | {o.processed} | {o.lost} | "
            f"{o.doubled} | {recovery} | {o.note} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 pushes per fault")
    parser.add_argument("--pushes", type=int, default=None, help="pushes per fault")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between pushes")
    parser.add_argument("--fault-seconds", type=float, default=None, help="outage length")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--keep-logs", action="store_true", help="copy logs to bench/.cache")
    args = parser.parse_args()
    args.pushes = min(args.pushes or (24 if args.quick else 60), 500)
    args.fault_seconds = args.fault_seconds or (2.0 if args.quick else 4.0)
    args.settle = 45.0 if args.quick else 120.0
    started = time.monotonic()
    log(f"PostgreSQL {PG_ADMIN} (through a proxy), own redis-server, everything on 127.0.0.1")
    with database() as db_url, tempfile.TemporaryDirectory() as tmp:
        try:
            outcomes = asyncio.run(run(db_url, args, Path(tmp)))
        finally:
            if args.keep_logs:
                for name in ("serve.log", "worker.log"):
                    if (Path(tmp) / name).exists():
                        (ROOT / "bench" / ".cache").mkdir(parents=True, exist_ok=True)
                        (ROOT / "bench" / ".cache" / f"chaos-{name}").write_bytes(
                            (Path(tmp) / name).read_bytes()
                        )
    print(table(outcomes))
    lost = sum(o.lost for o in outcomes)
    doubled = sum(o.doubled for o in outcomes)
    orphaned = any("0 orphaned" not in o.note for o in outcomes if o.fault == "serve_sigterm")
    print(
        json.dumps(
            {
                "faults": {
                    o.fault: {
                        "sent": o.sent,
                        "acknowledged": len(o.acknowledged),
                        "processed": o.processed,
                        "lost": o.lost,
                        "doubled": o.doubled,
                        "recovery_s": None if o.recovery_s is None else round(o.recovery_s, 1),
                    }
                    for o in outcomes
                },
                "lost": lost,
                "doubled": doubled,
                "orphaned_children": orphaned,
                "ok": lost == 0 and doubled == 0 and not orphaned,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
