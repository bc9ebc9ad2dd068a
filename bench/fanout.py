#!/usr/bin/env python3
"""WebSocket fan-out: time from one published event to its arrival at every connected client.

Setup: a public repository with a pet; `tamagitto serve` web processes in production mode
(Redis bus; the database is a temporary SQLite file unless --database-url is given); client
processes holding N WebSocket connections on loopback (public pet-page subscriptions, each with
its own X-Forwarded-For so the per-client rate limit applies per simulated visitor); and a
publisher process that PUBLISHes events to Redis, as a worker does. Each event carries its
CLOCK_MONOTONIC send time (shared by every process on the machine); each client stamps the
moment the frame's bytes arrive. The run is repeated with two web processes (clients split
between them). Clients are raw asyncio protocols with a minimal frame parser (they answer the
server's pings), so the client side costs little and the figures reflect the server.

    uv run python bench/fanout.py               # 10,000 clients, 5 events per run
    uv run python bench/fanout.py --quick       # 2,000 clients, under a minute

The last line printed is one JSON object with the figures; `ratio` is target / p99, so 1.0
or more meets the target of p99 <= 250 ms for 10,000 clients (as in the other benches).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_P99_MS = 250
REPO = "bench/fanout"
CONNECT_CONCURRENCY = 64
EVENT_TIMEOUT = 30.0
BENCH_REPOSITORY_ID = 918_273_645
RUN = os.urandom(8).hex()

from app.infra.bus import event_channel  # noqa: E402  (after the sys.path line above)


def raise_open_files() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- seeding and servers ------------------------------------------------------------------------


async def seed(database_url: str) -> tuple[int, int]:
    """Migrate and create the public repository and its pet; returns (repository id, pet id)."""
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from app.core import db
    from app.core.models import Repository
    from app.entities.lifecycle import create_pet

    await db.upgrade_async(database_url)
    engine = db.create_engine(database_url)
    try:
        async with db.make_sessionmaker(engine).begin() as session:
            await session.execute(delete(Repository).where(Repository.full_name == REPO))
            # A distinctive id: Redis channels are shared by every database number, so test
            # runs elsewhere on this machine must not mistake the bench's events for theirs.
            row = Repository(
                id=BENCH_REPOSITORY_ID,
                github_id=987_654_321,
                full_name=REPO,
                owner_login="bench",
                private=False,
            )
            session.add(row)
            await session.flush()
            pet = await create_pet(session, row, datetime.now(UTC))
            return row.id, pet.id
    finally:
        await engine.dispose()


def sqlalchemy_url(url: str) -> str:
    """The async driver URL the app derives from DATABASE_URL."""
    for prefix, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One `tamagitto serve` process."""
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        cwd=env["TAMAGITTO_DATA_DIR"],
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_ready(port: int, timeout: float = 60) -> None:
    """Poll /readyz until the process answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"web process on port {port} did not become ready")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def servers(count: int, env: dict[str, str], workdir: Path) -> Iterator[list[int]]:
    """Start `count` web processes on their own ports; stop them afterwards."""
    ports = [free_port() for _ in range(count)]
    procs = [start_server(p, env, workdir / f"web-{p}.log") for p in ports]
    try:
        for port in ports:
            wait_ready(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---- clients ------------------------------------------------------------------------------------


class WsClient(asyncio.Protocol):
    """A WebSocket client that stamps arrival times and does nothing else on the hot path."""

    def __init__(self, index: int, path: str, owner: ClientGroup) -> None:
        self.index = index
        self.path = path
        self.owner = owner
        self.buf = b""
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        assert self.transport is not None
        ip = f"10.{(self.index >> 16) & 255}.{(self.index >> 8) & 255}.{self.index & 255}"
        self.transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nX-Forwarded-For: {ip}\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buf += data
        if not self.upgraded:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self._fail(head.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            self.upgraded, self.buf = True, rest
        self._frames(now)

    def _frames(self, now: float) -> None:
        """Parse complete server frames (unmasked): text frames and pings."""
        while len(self.buf) >= 2:
            opcode, size, offset = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if size == 126:
                if len(self.buf) < 4:
                    return
                size, offset = struct.unpack("!H", self.buf[2:4])[0], 4
            elif size == 127:
                if len(self.buf) < 10:
                    return
                size, offset = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < offset + size:
                return
            payload, self.buf = self.buf[offset : offset + size], self.buf[offset + size :]
            if opcode == 0x1:
                self._text(payload, now)
            elif opcode == 0x9:
                self._send(0xA, payload)

    def _text(self, payload: bytes, now: float) -> None:
        if not self.ready.done():
            self.ready.set_result(True)  # the snapshot
            return
        if self.owner.marker in payload:  # other publishers share the channel
            self.owner.received(payload, now)

    def _send(self, opcode: int, payload: bytes) -> None:
        """Client frames are masked (RFC 6455 §5.3)."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during the handshake"))
        self.owner.lost += 1


class ClientGroup:
    """This process's clients and the arrival delays per event."""

    def __init__(self, conn: Connection, expected: int, run_id: str) -> None:
        self.conn = conn
        self.marker = f'"bench_run":"{run_id}"'.encode()
        self.expected = expected
        self.arrivals: dict[bytes, list[float]] = {}
        self.lost = 0

    def received(self, payload: bytes, now: float) -> None:
        """Keep the hot path cheap: group arrival times by payload, decode once per event."""
        bucket = self.arrivals.setdefault(payload, [])
        bucket.append(now)
        if len(bucket) == self.expected:
            event = json.loads(payload)
            delays = [t - event["sent_at"] for t in bucket]
            self.conn.send(("done", event["seq"], delays))


async def connect_all(group: ClientGroup, targets: list[tuple[int, int]]) -> int:
    """Open every connection with bounded concurrency; returns how many failed."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients: list[WsClient] = []
    failures = 0

    async def one(index: int, port: int) -> None:
        nonlocal failures
        async with gate:
            try:
                _, proto = await loop.create_connection(
                    lambda: WsClient(index, f"/api/ws?repository={REPO}", group),
                    "127.0.0.1",
                    port,
                )
                clients.append(proto)
                await asyncio.wait_for(proto.ready, 30)
            except (OSError, ConnectionError, TimeoutError):
                failures += 1

    await asyncio.gather(*(one(i, p) for i, p in targets))
    group.clients = clients  # type: ignore[attr-defined]  # keep references
    return failures


def client_main(conn: Connection, targets: list[tuple[int, int]], run_id: str) -> None:
    """Process entry: connect, report, then stay until told to stop."""
    raise_open_files()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(_client_run(conn, targets, run_id))


async def _client_run(conn: Connection, targets: list[tuple[int, int]], run_id: str) -> None:
    group = ClientGroup(conn, len(targets), run_id)
    failures = await connect_all(group, targets)
    group.expected = len(targets) - failures
    conn.send(("ready", len(targets) - failures, failures))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(conn.fileno(), stop.set)
    await stop.wait()


# ---- publisher ----------------------------------------------------------------------------------


def publisher_main(
    conn: Connection, redis_url: str, repository_id: int, entity_id: int, run_id: str
) -> None:
    """Process entry: publish one event per request, as a worker process would."""
    from redis import Redis

    redis = Redis.from_url(redis_url)
    while True:
        seq = conn.recv()
        if seq is None:
            return
        event = {
            "type": "health_update",
            "entity_id": entity_id,
            "repository_id": repository_id,
            "health_score": 72,
            "state": "healthy",
            "status": "alive",
            "visual_url": "https://pets.example/images/0123456789abcdef.svg",
            "change_reason": "tests added, complexity down",
            "timestamp": "2026-11-25T12:00:00+00:00",
            "seq": seq,
            "bench_run": run_id,
            "sent_at": time.monotonic(),
        }
        redis.publish(event_channel(redis_url), json.dumps(event, separators=(",", ":")))
        conn.send(seq)


# ---- one run ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(
    ports: list[int], clients: int, events: int, procs: int, publisher: Connection
) -> dict[str, Any]:
    """Connect `clients` spread over the ports, publish `events`, collect the delays."""
    ctx = multiprocessing.get_context("spawn")
    targets = [(i, ports[i % len(ports)]) for i in range(clients)]
    pipes, workers = [], []
    for k in range(procs):
        parent, child = ctx.Pipe()
        worker = ctx.Process(target=client_main, args=(child, targets[k::procs], RUN), daemon=True)
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    started = time.monotonic()
    connected = failed = 0
    for pipe in pipes:
        _, ok, bad = pipe.recv()
        connected, failed = connected + ok, failed + bad
    connect_s = time.monotonic() - started
    delays: list[float] = []
    last_arrivals: list[float] = []
    complete = 0
    try:
        for seq in range(events):
            time.sleep(0.3)
            publisher.send(seq)
            publisher.recv()
            per_event = _collect(pipes, seq)
            if per_event is not None:
                complete += 1
                delays += per_event
                last_arrivals.append(max(per_event))
    finally:
        for pipe in pipes:
            pipe.send("stop")
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.terminate()
    ms = [d * 1000 for d in delays]
    return {
        "clients": connected,
        "failed_connections": failed,
        "connect_s": round(connect_s, 1),
        "events": events,
        "complete_events": complete,
        "p50_ms": round(percentile(ms, 0.50), 1) if ms else None,
        "p99_ms": round(percentile(ms, 0.99), 1) if ms else None,
        "max_ms": round(max(ms), 1) if ms else None,
        "all_received_ms": round(statistics.median(last_arrivals) * 1000, 1)
        if last_arrivals
        else None,
    }


def _collect(pipes: list[Connection], seq: int) -> list[float] | None:
    """Wait until every client process has every client's delay for this event."""
    from multiprocessing.connection import wait

    pending = set(range(len(pipes)))
    delays: list[float] = []
    deadline = time.monotonic() + EVENT_TIMEOUT
    while pending:
        ready = wait([pipes[i] for i in pending], timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            print(f"  event {seq}: not every client received it in {EVENT_TIMEOUT:.0f} s")
            return None
        for index in [i for i in pending if pipes[i] in ready]:
            kind, got_seq, values = pipes[index].recv()
            if kind == "done" and got_seq == seq:
                delays.extend(values)
                pending.discard(index)
    return delays


# ---- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=5, help="events published per run")
    parser.add_argument(
        "--client-procs", type=int, default=1, help="processes holding the client sockets"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 clients, 3 events")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the web processes' logs")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.events = min(args.clients, 2_000), 3
    limit = raise_open_files()
    print(f"open-file limit {limit}; {args.clients} clients; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="tamagitto-fanout-") as tmp:
        workdir = Path(tmp)
        logdir = args.log_dir or workdir
        logdir.mkdir(parents=True, exist_ok=True)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        repository_id, entity_id = asyncio.run(seed(sqlalchemy_url(database_url)))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "TAMAGITTO_DATA_DIR": str(workdir),
            "PUBLIC_URL": "https://pets.example",
            "LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT),
        }
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        publisher = ctx.Process(
            target=publisher_main,
            args=(child, args.redis_url, repository_id, entity_id, RUN),
            daemon=True,
        )
        publisher.start()
        results = {}
        try:
            for count in (1, 2):
                with servers(count, env, logdir) as ports:
                    result = run(ports, args.clients, args.events, args.client_procs, parent)
                print(f"{count} web process(es): {json.dumps(result)}")
                results[count] = result
        finally:
            parent.send(None)
            publisher.join(5)
    one, two = results[1], results[2]
    summary = {
        "clients": one["clients"],
        "p50_ms": one["p50_ms"],
        "p99_ms": one["p99_ms"],
        "all_received_ms": one["all_received_ms"],
        "two_process_clients": two["clients"],
        "two_process_p50_ms": two["p50_ms"],
        "two_process_p99_ms": two["p99_ms"],
        "target_p99_ms": TARGET_P99_MS,
        "ratio": round(TARGET_P99_MS / one["p99_ms"], 2) if one["p99_ms"] else None,
        "failed_connections": one["failed_connections"] + two["failed_connections"],
        "incomplete_events": (one["events"] - one["complete_events"])
        + (two["events"] - two["complete_events"]),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
