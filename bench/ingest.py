#!/usr/bin/env python3
"""Webhook acknowledge path under load: `tamagitto serve` (PostgreSQL + Redis) vs a no-op Probot 14.

Both sides get the same signed ~9 KB push deliveries from @octokit/webhooks-examples, each with a
unique X-GitHub-Delivery, from wrk with 50 connections, the two sides alternating for 3 rounds
(medians reported). Both get the same number of web processes (`--processes`, default 2, as
deploy/compose.yaml runs: `tamagitto serve --workers N`, and N Probot processes sharing the
port under node:cluster, Node's own way to use more than one core). Probot runs
with NODE_ENV=production; our side stores every delivery in a private redis-server with
production's persistence (appendonly yes, appendfsync always). Both servers start once and stay
up; before each of our rounds Redis is emptied and its append-only file rewritten, so each round
starts as a fresh server would. After each round every acknowledged delivery must be in the
queue, and resending ids must be refused as duplicates. The CPU each side's processes (and wrk)
used is reported per delivery, so a load generator or a machine that ran out of CPU shows.

    uv run python bench/ingest.py                  # 10 s per side and round
    uv run python bench/ingest.py --quick          # 4 s per side and round, under a minute
    uv run python bench/ingest.py --processes 1    # one web process on each side

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / ".cache"
PYCACHE = CACHE / "pycache"
PROBOT_VERSION = "14.3.2"
SECRET = "bench-webhook-secret"
EXAMPLES = ROOT / "tests/fixtures/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")

WRK_SCRIPT = r"""
local counter = 0
local threads = {}
local body = io.open(os.getenv("BENCH_BODY"), "rb"):read("*a")
local signature = os.getenv("BENCH_SIGNATURE")
local path = os.getenv("BENCH_PATH")
local prefix = os.getenv("BENCH_PREFIX")
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["User-Agent"] = "GitHub-Hookshot/bench"
  headers["X-GitHub-Event"] = "push"
  headers["X-GitHub-Delivery"] = prefix .. "-" .. tid .. "-" .. counter
  headers["X-Hub-Signature-256"] = signature
  return wrk.format("POST", path, headers, body)
end
function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "seconds": %.3f, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

PROBOT_APP = 'export default (app) => { app.on("push", async () => {}); };\n'
# N copies of `probot run ./index.js` on one port, the way a Node server is scaled out; each
# copy reads the same argv (`run ./index.js`) through Probot's own command line.
PROBOT_CLUSTER = """import cluster from "node:cluster";
const processes = Number(process.env.BENCH_PROCESSES || "1");
if (cluster.isPrimary) {
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on("exit", () => process.exit(1));
} else {
  await import("./node_modules/probot/lib/bin/probot.js");
}
"""


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries the figures."""
    print(message, file=sys.stderr, flush=True)


def server_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for the servers a bench starts: bytecode kept under bench/.cache.

    Machines that set PYTHONDONTWRITEBYTECODE make every start compile every module again
    (about 6 s of each `tamagitto serve` or `worker` start here): start-up time, not what any
    bench measures, and what made `chaos.py --quick` overrun its minute.
    """
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def keep_bytecode() -> None:
    """Start this bench again with server_env's bytecode settings, before its heavy imports."""
    if "PYTHONDONTWRITEBYTECODE" in os.environ and "PYTHONPYCACHEPREFIX" not in os.environ:
        os.execve(sys.executable, [sys.executable, *sys.argv], server_env(dict(os.environ)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def payload() -> bytes:
    """A push to a branch from the examples, grown to about 9 KB with a second commit."""
    groups = json.loads(EXAMPLES.read_text())
    pushes = [p for g in groups if g["name"] == "push" for p in g["examples"]]
    push = max(pushes, key=lambda p: len(p.get("commits") or []))
    extra = dict(push["commits"][0], id="c" * 40, message="Update README with more words")
    push["commits"] = [*push["commits"], extra]
    return json.dumps(push).encode()


def ensure_tools() -> None:
    """wrk from Debian and the test fixtures from npm, installed when missing."""
    if shutil.which("wrk") is None:
        log("installing wrk from Debian")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not EXAMPLES.is_file():
        subprocess.run(
            ["npm", "ci", "--silent", "--no-audit", "--no-fund"],
            cwd=ROOT / "tests/fixtures",
            check=True,
        )


def ensure_probot() -> Path:
    """A no-op Probot app in a cache folder (npm install once)."""
    folder = CACHE / f"probot-{PROBOT_VERSION}"
    if not (folder / "node_modules/probot/bin/probot.js").is_file():
        log(f"installing probot@{PROBOT_VERSION} with npm")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(
            json.dumps({"name": "probot-noop", "private": True, "type": "module"})
        )
        subprocess.run(
            ["npm", "install", f"probot@{PROBOT_VERSION}", "--silent", "--no-audit", "--no-fund"],
            cwd=folder,
            check=True,
        )
    (folder / "index.js").write_text(PROBOT_APP)
    (folder / "cluster.mjs").write_text(PROBOT_CLUSTER)
    return folder


def private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated, dropped afterwards."""
    from app.core import db

    name = f"tamagitto_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        db.upgrade(url.replace("postgresql://", "postgresql+asyncpg://"))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def wait_for(port: int, path: str, timeout: float = 60) -> None:
    """Poll until the server answers HTTP at all."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def process(cmd: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server process in its own group, stopped at the end."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run_wrk(
    port: int, path: str, body_file: Path, prefix: str, seconds: int, connections: int
) -> dict[str, Any]:
    """wrk with our Lua script; returns its JSON summary."""
    script = body_file.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_BODY": str(body_file),
        "BENCH_PATH": path,
        "BENCH_PREFIX": prefix,
        "BENCH_SIGNATURE": sign(body_file.read_bytes()),
    }
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU these processes have used so far, from /proc (Linux)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def group(pgid: int) -> list[int]:
    """Every process of a process group: a server and what it forked."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


@dataclass
class Side:
    """One running server under test: where to send, and which processes are its cost."""

    name: str
    port: int
    path: str
    pgid: int
    others: list[int] = field(default_factory=list)
    redis_url: str | None = None

    def pids(self) -> list[int]:
        return group(self.pgid) + self.others


@contextmanager
def our_server(processes: int) -> Iterator[Side]:
    """`tamagitto serve --workers N` in production mode, on a private durable redis-server.

    Redis runs with production's persistence (appendonly yes, appendfsync always): every 202
    is on disk before it is sent. Its CPU counts as ours.
    """
    from tests.redis_server import RedisServer

    with tempfile.TemporaryDirectory() as redis_dir, database() as db_url:
        server = RedisServer(Path(redis_dir)).start()
        assert server.proc is not None
        try:
            with _serve(db_url, server.url(0), processes) as (proc, port):
                yield Side(
                    "tamagitto", port, "/webhook/github", proc.pid, [server.proc.pid], server.url(0)
                )
        finally:
            server.stop()


@contextmanager
def _serve(db_url: str, redis_url: str, processes: int) -> Iterator[tuple[Any, int]]:
    with tempfile.TemporaryDirectory() as cwd:
        port = free_port()
        env = {
            **server_env(dict(os.environ)),
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": "warn",
            "PORT": str(port),
            "PYTHONPATH": str(ROOT),
        }
        cmd = [sys.executable, "-m", "app", "serve", "--workers", str(processes)]
        with process(cmd, env, Path(cwd)) as proc:
            wait_for(port, "/healthz")
            yield proc, port


@contextmanager
def probot_server(processes: int) -> Iterator[Side]:
    """A no-op Probot 14 app (`app.on("push", …)`); N processes share the port via node:cluster."""
    folder = ensure_probot()
    port = free_port()
    env = {
        **os.environ,
        "APP_ID": "1",
        "PRIVATE_KEY": private_key(),
        "WEBHOOK_SECRET": SECRET,
        "PORT": str(port),
        "LOG_LEVEL": "warn",
        "NODE_ENV": "production",
        "BENCH_PROCESSES": str(processes),
    }
    entry = "node_modules/probot/bin/probot.js" if processes == 1 else "cluster.mjs"
    with process(["node", entry, "run", "./index.js"], env, folder) as proc:
        wait_for(port, "/")
        yield Side("probot", port, "/api/github/webhooks", proc.pid)


def fresh_redis(redis_url: str) -> None:
    """Empty Redis and rewrite its append-only file, as a freshly started server would be."""
    from redis import Redis

    redis: Any = Redis.from_url(redis_url)  # redis-py leaves bgrewriteaof unannotated
    try:
        _rewrite_done(redis)
        redis.flushall()
        redis.bgrewriteaof()
        _rewrite_done(redis)
    finally:
        redis.close()


def _rewrite_done(redis: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = redis.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.05)
    raise RuntimeError("Redis did not finish rewriting its append-only file")


def flush(redis_url: str) -> None:
    from redis import Redis

    Redis.from_url(redis_url).flushdb()


def measure(
    side: Side, body_file: Path, seconds: int, connections: int, prefix: str
) -> dict[str, Any]:
    """One round on one side: wrk's figures, CPU per delivery, and our durability checks."""
    if side.redis_url is not None:
        fresh_redis(side.redis_url)
    pids = side.pids()
    cpu_before = cpu_seconds(pids)
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_wrk(side.port, side.path, body_file, prefix, seconds, connections)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    delivered = max(1, result["requests"])
    result["cpu_us"] = (cpu_seconds(pids) - cpu_before) / delivered * 1e6
    wrk_cpu = (wrk_after.ru_utime - wrk_before.ru_utime) + (
        wrk_after.ru_stime - wrk_before.ru_stime
    )
    result["wrk_cpu"] = wrk_cpu / result["seconds"]
    if side.redis_url is not None:
        checks = durability(side.port, side.redis_url, result, body_file.read_bytes())
        result.update(asyncio.run(checks))
    return result


async def durability(
    port: int, redis_url: str, result: dict[str, Any], body: bytes
) -> dict[str, Any]:
    """Every 202 is a stored job; ids sent again come back as duplicates."""
    import aiohttp
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    stored = int(await redis.zcard("arq:queue"))
    sample = [j.decode().removeprefix("delivery:") for j in await redis.zrange("arq:queue", 0, 49)]
    await redis.aclose()
    acknowledged = result["requests"] - result["non2xx"]
    duplicates = 0
    async with aiohttp.ClientSession() as session:
        for delivery in sample:
            headers = {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": sign(body),
                "Content-Type": "application/json",
            }
            async with session.post(
                f"http://127.0.0.1:{port}/webhook/github", data=body, headers=headers
            ) as resp:
                duplicates += resp.status == 200 and (await resp.json()).get("duplicate", False)
    return {
        "stored": stored,
        "acknowledged": acknowledged,
        "all_stored": acknowledged <= stored <= acknowledged + 2 * 50,
        "duplicates_refused": duplicates == len(sample) == 50,
    }


def median(rounds: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rounds))


def describe(side: Side, round_: int, result: dict[str, Any]) -> str:
    line = (
        f"round {round_} {side.name}: {result['rps']:.0f} deliveries/s, "
        f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
        f"{result['cpu_us']:.0f} us CPU per delivery, wrk {result['wrk_cpu']:.0%} of a core"
    )
    if "stored" in result:
        line += f", stored {result['stored']} of {result['acknowledged']} acknowledged"
    return line


def rounds_of(
    sides: tuple[Side, Side], body_file: Path, args: argparse.Namespace, seconds: int
) -> dict[str, list[dict[str, Any]]]:
    """Warm both up, then alternate: Probot first in odd rounds, ours first in even ones."""
    for side in sides:
        run_wrk(side.port, side.path, body_file, "warm", 2, args.connections)
    results: dict[str, list[dict[str, Any]]] = {side.name: [] for side in sides}
    for round_ in range(1, args.rounds + 1):
        for side in sides if round_ % 2 else sides[::-1]:
            result = measure(side, body_file, seconds, args.connections, f"r{round_}")
            results[side.name].append(result)
            log(describe(side, round_, result))
    return results


def summary(
    mine: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    args: argparse.Namespace,
    seconds: int,
    load: tuple[float, float],
) -> dict[str, Any]:
    ours_rps, their_rps = median(mine, "rps"), median(theirs, "rps")
    return {
        "ours_rps": round(ours_rps),
        "baseline_rps": round(their_rps),
        "ratio": round(ours_rps / their_rps, 2),
        "ours_p50_ms": round(median(mine, "p50_us") / 1000, 2),
        "ours_p99_ms": round(median(mine, "p99_us") / 1000, 2),
        "baseline_p50_ms": round(median(theirs, "p50_us") / 1000, 2),
        "baseline_p99_ms": round(median(theirs, "p99_us") / 1000, 2),
        "ours_cpu_us_per_delivery": round(median(mine, "cpu_us")),
        "baseline_cpu_us_per_delivery": round(median(theirs, "cpu_us")),
        "wrk_cpu_max": round(max(r["wrk_cpu"] for r in mine + theirs), 2),
        "ours_rps_rounds": [round(r["rps"]) for r in mine],
        "baseline_rps_rounds": [round(r["rps"]) for r in theirs],
        "ours_errors": sum(r["non2xx"] + r["socket_errors"] for r in mine),
        "baseline_errors": sum(r["non2xx"] + r["socket_errors"] for r in theirs),
        "all_acknowledged_stored": all(r["all_stored"] for r in mine),
        "duplicates_refused": all(r["duplicates_refused"] for r in mine),
        "redis": "appendonly yes, appendfsync always",
        "processes": args.processes,
        "rounds": args.rounds,
        "connections": args.connections,
        "seconds": seconds,
        "load_average": [round(x, 2) for x in load],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s per side (under 60 s in all)")
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--processes", type=int, default=2, help="web processes on each side")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    seconds = args.seconds or (4 if args.quick else 10)
    keep_bytecode()
    ensure_tools()
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "push.json"
        body_file.write_bytes(payload())
        log(
            f"payload {body_file.stat().st_size} bytes; {args.connections} connections, "
            f"{seconds} s per side, {args.rounds} alternating rounds, "
            f"{args.processes} web process(es) per side"
        )
        load_before = os.getloadavg()[0]
        with probot_server(args.processes) as theirs, our_server(args.processes) as mine:
            results = rounds_of((theirs, mine), body_file, args, seconds)
    load = (load_before, os.getloadavg()[0])
    print(json.dumps(summary(results["tamagitto"], results["probot"], args, seconds, load)))


if __name__ == "__main__":
    main()
