"""The WebSocket hub: this process's sockets, and the fan-out of bus events to them.

One hub per web process subscribes to the event bus once (Redis pub/sub in production, so an
event published by any process reaches every process) and fans each event out to the sockets
allowed to see its repository. Fan-out encodes the frame once and writes it to each socket's
transport without awaiting, the way `websockets.broadcast` does: a slow or dead client cannot hold
up the others. Each client's unsent bytes are bounded, and a client that stays over the bound
for SLOW_TIMEOUT, or passes a hard bound, is dropped. `app.web.api.ws` is the handshake and
the per-socket loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web
from prometheus_client import Counter, Gauge

from app.core.models import Repository
from app.infra.bus import SESSION_ENDED, Event

log = logging.getLogger(__name__)

SOFT_LIMIT = 256 * 1024
HARD_LIMIT = 4 * 1024 * 1024
SLOW_TIMEOUT = 10.0
PENDING_LIMIT = 200
HUB_BUFFER = 10_000
PUBLIC_TTL = 2.0
PUBLIC_CACHE_SIZE = 1000
CLOSE_SESSION_ENDED = 4001
ENDED_MEMORY = 60.0  # longer than any handshake: a socket still connecting hears of it too


SOCKETS = Gauge("tamagitto_websocket_clients", "Open WebSocket clients in this process")
EVENTS = Counter("tamagitto_websocket_events_total", "Events fanned out to WebSocket clients")
DROPPED = Counter("tamagitto_websocket_dropped_total", "WebSocket clients dropped as too slow")


def text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final text frame (RFC 6455 §5.2) for server-to-client use."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def encode(event: Event) -> bytes:
    """One frame per event, shared by every recipient."""
    return text_frame(json.dumps(event, separators=(",", ":"), default=str).encode())


Refresher = Callable[[], Awaitable[frozenset[int]]]


@dataclass(eq=False)
class Client:
    """One socket: the repositories it may hear about, and its send state."""

    transport: asyncio.Transport
    repo_ids: frozenset[int]
    refresh: Refresher
    live: bool = False
    pending: list[bytes] = field(default_factory=list)
    slow_since: float | None = None
    dropped: bool = False
    user_id: int | None = None
    jti: str | None = None
    socket: web.WebSocketResponse | None = None
    opened_at: float = field(default_factory=time.monotonic)

    def belongs_to(self, user_id: int, jti: str | None) -> bool:
        """Is this a socket of that person (and of that session, when one is named)?"""
        return self.user_id == user_id and (jti is None or self.jti == jti)

    def offer(self, frame: bytes) -> bool:
        """Write now, or hold until the snapshot is out; False means drop this client."""
        if self.dropped or self.transport.is_closing():
            return False
        if not self.live:
            self.pending.append(frame)
            return len(self.pending) <= PENDING_LIMIT
        if not self._keeping_up():
            return False
        self.transport.write(frame)
        return True

    def _keeping_up(self) -> bool:
        """Bounded sends: over the hard limit, or over the soft one for too long, is too slow."""
        backlog = self.transport.get_write_buffer_size()
        if backlog <= SOFT_LIMIT:
            self.slow_since = None
            return True
        now = time.monotonic()
        if self.slow_since is None:
            self.slow_since = now
        return backlog <= HARD_LIMIT and now - self.slow_since <= SLOW_TIMEOUT

    def go_live(self) -> bool:
        """After the snapshot: send what arrived meanwhile, then write events directly."""
        self.live = True
        frames, self.pending = self.pending, []
        return all(self.offer(f) for f in frames)

    def drop(self) -> None:
        """Cut a client that cannot keep up; its handler notices and cleans up."""
        if not self.dropped:
            self.dropped = True
            self.transport.abort()


def fan_out(audience: set[Client], frame: bytes) -> tuple[int, list[Client]]:
    """Write one frame to many sockets without awaiting; returns (sent, clients to drop).

    The common case (a live socket with room in its buffer) is inlined: with 10,000 sockets
    per event, the per-socket overhead is what the fan-out time is made of.
    """
    sent = 0
    slow: list[Client] = []
    for client in audience:
        transport = client.transport
        if (
            client.live
            and not client.dropped
            and transport.get_write_buffer_size() <= SOFT_LIMIT
            and not transport.is_closing()
        ):
            client.slow_since = None
            transport.write(frame)
            sent += 1
        elif client.offer(frame):
            sent += 1
        else:
            slow.append(client)
    return sent, slow


class Hub:
    """This process's sockets, indexed by repository, fed by one bus subscription."""

    def __init__(self) -> None:
        self.by_repo: dict[int, set[Client]] = {}
        self.clients: set[Client] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.task: asyncio.Task[None] | None = None
        self.drops = 0
        # Pet pages arrive in bursts: keep public lookups and snapshots for a moment.
        self.public_repos: dict[str, tuple[float, Repository]] = {}
        self.snapshots: dict[int, tuple[float, str]] = {}
        self.dispatched = 0
        # Sessions ended lately, (user, jti or None for all) -> when; and the closes under way.
        self.ended: dict[tuple[int, str | None], float] = {}
        self.closing: set[asyncio.Task[None]] = set()
        self.forget_access: Callable[[int], Awaitable[None]] | None = None

    def add(self, client: Client) -> None:
        """Index a client under each repository it may hear about."""
        self.clients.add(client)
        SOCKETS.set(len(self.clients))
        for repo_id in client.repo_ids:
            self.by_repo.setdefault(repo_id, set()).add(client)

    def remove(self, client: Client) -> None:
        """Forget a client (closed, dropped, or being re-indexed)."""
        self.clients.discard(client)
        SOCKETS.set(len(self.clients))
        for repo_id in client.repo_ids:
            members = self.by_repo.get(repo_id)
            if members is not None:
                members.discard(client)
                if not members:
                    del self.by_repo[repo_id]

    def update(self, client: Client, repo_ids: frozenset[int]) -> None:
        """Re-index a client whose access changed."""
        if client in self.clients and repo_ids != client.repo_ids:
            self.remove(client)
            client.repo_ids = repo_ids
            self.add(client)

    def dispatch(self, event: Event) -> int:
        """Send one event to every socket allowed to see its repository; returns how many."""
        if event.get("type") == SESSION_ENDED:
            return self.end_session(event)
        try:
            repo_id = int(event["repository_id"])
        except (KeyError, TypeError, ValueError):
            return 0
        self.snapshots.pop(repo_id, None)  # a cached snapshot is older than this event
        self.dispatched += 1
        audience = self.by_repo.get(repo_id)
        if not audience:
            return 0
        sent, slow = fan_out(audience, encode(event))
        EVENTS.inc()
        for client in slow:
            self.drops += 1
            DROPPED.inc()
            client.drop()
            self.remove(client)
        return sent

    def end_session(self, event: Event) -> int:
        """Close the sockets of an ended session (or of every session of a person) now.

        They leave the index at once, so not one more event reaches them; the close frame
        (4001, which the extension answers by reconnecting with its current token) follows.
        """
        try:
            user_id = int(event["user_id"])
        except (KeyError, TypeError, ValueError):
            return 0
        jti = event.get("jti") if isinstance(event.get("jti"), str) else None
        now = time.monotonic()
        self.ended = {k: t for k, t in self.ended.items() if now - t < ENDED_MEMORY}
        self.ended[(user_id, jti)] = now
        ended = [c for c in self.clients if c.belongs_to(user_id, jti)]
        for client in ended:
            self.close_ended(client)
        if jti is None and self.forget_access is not None:
            self._spawn(self.forget_access(user_id))
        return len(ended)

    def was_ended(self, client: Client) -> bool:
        """Did the client's session end while it was still connecting?"""
        return any(
            at >= client.opened_at and client.belongs_to(user_id, jti)
            for (user_id, jti), at in self.ended.items()
        )

    def close_ended(self, client: Client) -> None:
        """Take a client out of the fan-out and close its socket with 4001."""
        self.remove(client)
        client.dropped = True
        if client.socket is not None:
            self._spawn(close_ended(client.socket))

    def _spawn(self, work: Awaitable[None]) -> None:
        """Run a close in the background, keeping a reference until it is done."""
        task = asyncio.ensure_future(work)
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)

    async def run(self, subscribe: Callable[..., Any]) -> None:
        """Relay bus events until cancelled; one bad event never stops the relay."""
        async with subscribe(HUB_BUFFER) as subscription:
            while True:
                event = await subscription.get()
                try:
                    self.dispatch(event)
                except Exception:
                    log.exception("websocket fan-out failed for one event")

    async def close_all(self) -> None:
        """Shutdown: tell clients we are going away, so they reconnect elsewhere."""
        sockets = list(self.sockets)
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )

    def cached_repo(self, name: str) -> Repository | None:
        hit = self.public_repos.get(name.lower())
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def remember_repo(self, name: str, repository: Repository) -> None:
        if len(self.public_repos) > PUBLIC_CACHE_SIZE:
            self.public_repos.clear()
        self.public_repos[name.lower()] = (time.monotonic() + PUBLIC_TTL, repository)

    def cached_snapshot(self, repo_id: int) -> str | None:
        hit = self.snapshots.get(repo_id)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def remember_snapshot(self, repo_id: int, text: str) -> None:
        if len(self.snapshots) > PUBLIC_CACHE_SIZE:
            self.snapshots.clear()
        self.snapshots[repo_id] = (time.monotonic() + PUBLIC_TTL, text)


HUB = web.AppKey("tamagitto.api.ws_hub", Hub)


async def close_ended(ws: web.WebSocketResponse) -> None:
    """The close frame for a socket whose session ended; a dead socket is simply gone."""
    with contextlib.suppress(Exception):
        await ws.close(code=CLOSE_SESSION_ENDED, message=b"session ended")


async def start_hub(app: web.Application) -> None:
    """Subscribe this process's hub to the bus (runs after the runtime has opened)."""
    from app.infra.runtime import RUNTIME
    from app.web.api.access import LOCAL as ACCESS_CACHE
    from app.web.api.access import drop_cached

    hub = app[HUB]
    rt = app[RUNTIME]
    hub.forget_access = lambda user_id: drop_cached(rt.redis, app[ACCESS_CACHE], user_id)
    hub.task = asyncio.create_task(hub.run(rt.bus.subscribe), name="websocket-hub")


async def stop_hub(app: web.Application) -> None:
    """Close sockets and stop relaying, before the bus and database close."""
    hub = app[HUB]
    await hub.close_all()
    if hub.task is not None:
        hub.task.cancel()
        await asyncio.gather(hub.task, return_exceptions=True)
    await asyncio.gather(*hub.closing, return_exceptions=True)
