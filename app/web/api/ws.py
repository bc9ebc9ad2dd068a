"""`GET /api/ws`: live pet events for signed-in people and for public pet pages.

One hub per web process subscribes to the event bus once (Redis pub/sub in production, so an
event published by any process reaches every process) and fans each event out to the sockets
allowed to see its repository. Fan-out encodes the frame once and writes it to each socket's
transport without awaiting, the way `websockets.broadcast` does: a slow or dead client cannot hold
up the others. Each client's unsent bytes are bounded, and a client that stays over the bound
for SLOW_TIMEOUT, or passes a hard bound, is dropped. aiohttp's heartbeat pings every 20 s and
closes sockets that stop answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from prometheus_client import Counter, Gauge
from pydantic import Field

from app.core import schemas
from app.core.models import Repository
from app.infra.bus import SESSION_ENDED, Event
from app.read import pets
from app.web.api.access import access_for, visible_repositories
from app.web.api.context import runtime, settings
from app.web.api.errors import ApiError, invalid, unauthorized
from app.web.api.params import Params, parse
from app.web.api.public import not_found, public_repository
from app.web.api.ratelimit import VERDICT
from app.web.api.sessions import (
    BEARER_PROTOCOL,
    InvalidSession,
    Principal,
    decode,
    is_revoked,
    require_secret,
    socket_token,
    verify,
)

log = logging.getLogger(__name__)

HEARTBEAT = 20.0
SOFT_LIMIT = 256 * 1024
HARD_LIMIT = 4 * 1024 * 1024
SLOW_TIMEOUT = 10.0
PENDING_LIMIT = 200
HUB_BUFFER = 10_000
REFRESH_EVERY = 300.0
PUBLIC_TTL = 2.0
PUBLIC_CACHE_SIZE = 1000
MAX_CLIENT_MESSAGE = 64 * 1024
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


class SocketQuery(Params):
    """The handshake's query: a session token (`sessions.socket_token` reads it, or the
    `bearer` subprotocol), or a public repository to follow without signing in."""

    token: str | None = None
    repository: str | None = Field(default=None, description="`owner/name` of a public repository")


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
            self._spawn(_close_ended(client.socket))

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


async def _close_ended(ws: web.WebSocketResponse) -> None:
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


async def _repositories_for(
    request: web.Request, principal: Principal | None, public: Repository | None
) -> list[Repository]:
    """The repositories this socket may hear about."""
    rows: list[Repository] = [public] if public is not None else []
    if principal is not None:
        access = await access_for(request, principal.user_id)
        async with runtime(request).sessionmaker() as session:
            rows += await visible_repositories(session, access)
    return rows


async def _public_target(request: web.Request) -> Repository | None:
    """`?repository=owner/name` for pet pages: must name a public repository."""
    name = parse(SocketQuery, request.query).repository
    if not name:
        return None
    hub = request.config_dict[HUB]
    row = hub.cached_repo(name)
    if row is None:
        async with runtime(request).sessionmaker() as session:
            row = await public_repository(session, name)
        if row is None:
            raise not_found(name)
        hub.remember_repo(name, row)
    return row


async def snapshot(request: web.Request, repositories: list[Repository]) -> dict[str, Any]:
    """`{"type": "snapshot", "entities": [...]}` for the socket's repositories."""
    async with runtime(request).sessionmaker() as session:
        found = await pets.current_pets(session, {r.id: r for r in repositories}.values())
    return schemas.Snapshot(
        entities=pets.pet_models(found, settings(request).public_url)
    ).json_dict()


async def snapshot_text(
    request: web.Request, repositories: list[Repository], public_only: bool
) -> str:
    """The snapshot as JSON; a public page's is shared until the next event or PUBLIC_TTL.

    Called after the socket is registered with the hub, so a cached snapshot is never older
    than an event the socket missed: any event since caching has dropped the cache entry.
    """
    hub = request.config_dict[HUB]
    key = repositories[0].id if public_only and len(repositories) == 1 else None
    text = hub.cached_snapshot(key) if key is not None else None
    if text is None:
        seen = hub.dispatched
        text = json.dumps(await snapshot(request, repositories), default=str)
        if key is not None and hub.dispatched == seen:  # no event raced the query
            hub.remember_snapshot(key, text)
    return text


async def _still_signed_in(request: web.Request, token: str) -> Principal:
    """The session behind a socket, unless it has expired or been signed out."""
    principal = decode(require_secret(request), token)
    async with runtime(request).sessionmaker() as session:
        if await is_revoked(session, principal.jti):
            raise InvalidSession("revoked")
    return principal


def _refresher(request: web.Request, token: str | None, public: Repository | None) -> Refresher:
    """Re-derive a socket's repositories; raises InvalidSession once the session has ended."""

    async def refresh() -> frozenset[int]:
        principal = await _still_signed_in(request, token) if token is not None else None
        still_public = None
        if public is not None:
            async with runtime(request).sessionmaker() as session:
                still_public = await public_repository(session, public.full_name)
        rows = await _repositories_for(request, principal, still_public)
        return frozenset(r.id for r in rows)

    return refresh


async def websocket(request: web.Request) -> web.StreamResponse:
    """Authenticate (401 before the upgrade), subscribe, send the snapshot, then stream."""
    opened_at = time.monotonic()
    token, in_protocol = socket_token(request)
    public = await _public_target(request)
    if token is None and public is None:
        raise unauthorized("A session token (or a public repository) is required.")
    principal = await verify(request, token) if token is not None else None
    repositories = await _repositories_for(request, principal, public)
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT,
        protocols=(BEARER_PROTOCOL,) if in_protocol else (),
        compress=False,
        max_msg_size=MAX_CLIENT_MESSAGE,
    )
    if not ws.can_prepare(request).ok:
        raise invalid("Upgrade", "This endpoint speaks WebSocket only; send an upgrade request.")
    verdict = request.get(VERDICT)
    if verdict is not None:
        ws.headers.update(verdict.headers())
    await ws.prepare(request)
    transport = request.transport
    if transport is None:
        return ws
    hub = request.config_dict[HUB]
    client = Client(
        transport,
        frozenset(r.id for r in repositories),
        _refresher(request, token, public),
        user_id=principal.user_id if principal else None,
        jti=principal.jti if principal else None,
        socket=ws,
        opened_at=opened_at,
    )
    hub.add(client)
    hub.sockets.add(ws)
    try:
        if hub.was_ended(client):  # signed out while this socket was being set up
            await _close_ended(ws)
            return ws
        await ws.send_str(await snapshot_text(request, repositories, principal is None))
        if not client.go_live():
            client.drop()
            return ws
        await _read_until_closed(ws, client, hub)
    finally:
        hub.remove(client)
        hub.sockets.discard(ws)
    return ws


async def _read_until_closed(ws: web.WebSocketResponse, client: Client, hub: Hub) -> None:
    """Accept and ignore keepalives; refresh access now and then; stop when the socket ends."""
    next_refresh = time.monotonic() + REFRESH_EVERY * random.uniform(0.8, 1.2)
    while not ws.closed and not client.dropped:
        wait = max(0.1, next_refresh - time.monotonic())
        try:
            msg = await ws.receive(timeout=wait)
        except TimeoutError:
            if not await _refresh(ws, client, hub):
                return
            next_refresh = time.monotonic() + REFRESH_EVERY
            continue
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return


async def _refresh(ws: web.WebSocketResponse, client: Client, hub: Hub) -> bool:
    """Follow access changes; close the socket once its session has ended."""
    try:
        hub.update(client, await client.refresh())
    except (InvalidSession, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.status >= 500:
            return True  # GitHub or config trouble: keep the socket, try again later
        with contextlib.suppress(Exception):
            await ws.close(code=CLOSE_SESSION_ENDED, message=b"session ended")
        return False
    except Exception as exc:
        log.warning("websocket access refresh failed (%s)", type(exc).__name__)
    return True


def routes() -> list[web.RouteDef]:
    """The WebSocket route."""
    return [web.get("/ws", websocket)]


__all__ = ["HUB", "Client", "Hub", "routes", "start_hub", "stop_hub", "text_frame"]
