"""`GET /api/ws`: live pet events for signed-in people and for public pet pages.

The handshake authenticates (a 401 comes before the upgrade), works out which repositories the
socket may hear about, and registers it with this process's hub (`app.web.api.hub`), which
fans the bus's events out. The socket then gets a snapshot, then events; it re-checks its
access every REFRESH_EVERY and is closed with 4001 once its session ends. aiohttp's heartbeat
pings every 20 s and closes sockets that stop answering.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import Field

from app.core import schemas
from app.core.models import Repository
from app.read import pets
from app.web.api.access import access_for, visible_repositories
from app.web.api.context import runtime, settings
from app.web.api.errors import ApiError, invalid, unauthorized
from app.web.api.hub import CLOSE_SESSION_ENDED, HUB, Client, Hub, Refresher, close_ended
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
REFRESH_EVERY = 300.0
MAX_CLIENT_MESSAGE = 64 * 1024


class SocketQuery(Params):
    """The handshake's query: a session token (`sessions.socket_token` reads it, or the
    `bearer` subprotocol), or a public repository to follow without signing in."""

    token: str | None = None
    repository: str | None = Field(default=None, description="`owner/name` of a public repository")


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
    ws = await _upgrade(request, in_protocol)
    transport = request.transport
    if transport is None:
        return ws
    client = Client(
        transport,
        frozenset(r.id for r in repositories),
        _refresher(request, token, public),
        user_id=principal.user_id if principal else None,
        jti=principal.jti if principal else None,
        socket=ws,
        opened_at=opened_at,
    )
    await _serve(request, client, ws, repositories, public_only=principal is None)
    return ws


async def _upgrade(request: web.Request, in_protocol: bool) -> web.WebSocketResponse:
    """Switch protocols, with the rate-limit headers; a request that is no upgrade is a 400."""
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
    return ws


async def _serve(
    request: web.Request,
    client: Client,
    ws: web.WebSocketResponse,
    repositories: list[Repository],
    public_only: bool,
) -> None:
    """Registered with the hub before the snapshot, so no event falls between the two."""
    hub = request.config_dict[HUB]
    hub.add(client)
    hub.sockets.add(ws)
    try:
        if hub.was_ended(client):  # signed out while this socket was being set up
            await close_ended(ws)
            return
        await ws.send_str(await snapshot_text(request, repositories, public_only))
        if not client.go_live():
            client.drop()
            return
        await _read_until_closed(ws, client, hub)
    finally:
        hub.remove(client)
        hub.sockets.discard(ws)


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
