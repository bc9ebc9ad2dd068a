"""A fake smee.io on loopback: channels that relay POSTed deliveries as Server-Sent Events.

It behaves as smee's server does: `GET /new` redirects (307) to a fresh channel; `GET
/{channel}` with `Accept: text/event-stream` streams `ready`, then one message per delivery
whose data is `{...headers lower-cased, body: parsed JSON, query, timestamp}`, then pings;
`POST /{channel}` relays a delivery to every connected reader. `drop()` cuts the readers, as
a restart of the service would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeSmee:
    """The service; `url` is set once its server runs."""

    url: str = ""
    readers: dict[str, list[asyncio.Queue[str | None]]] = field(default_factory=dict)
    connects: int = 0
    created: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def make_app(self) -> web.Application:
        """The aiohttp app to serve."""
        app = web.Application(client_max_size=32 * 1024**2)
        app.router.add_get("/new", self.new)
        app.router.add_get("/{channel}", self.stream)
        app.router.add_post("/{channel}", self.relay)
        return app

    async def new(self, request: web.Request) -> web.Response:
        """GET /new: a 307 to a fresh channel, as smee answers."""
        channel = secrets.token_urlsafe(12)
        self.created.append(channel)
        raise web.HTTPTemporaryRedirect(f"{self.url}/{channel}")

    def _frame(self, data: Any, event: str | None = None) -> bytes:
        head = f"id: {next(self.ids)}\n" + (f"event: {event}\n" if event else "")
        return (head + f"data: {json.dumps(data)}\n\n").encode()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """GET /{channel}: the event stream (smee wants exactly this Accept header)."""
        if request.headers.get("Accept") != "text/event-stream":
            return web.Response(text="<html>channel page</html>", content_type="text/html")
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.readers.setdefault(request.match_info["channel"], []).append(queue)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        self.connects += 1
        await response.write(self._frame({}, "ready"))
        try:
            while (message := await queue.get()) is not None:
                await response.write(message.encode())
        finally:
            self.readers[request.match_info["channel"]].remove(queue)
        return response

    async def relay(self, request: web.Request) -> web.Response:
        """POST /{channel}: what GitHub does; every reader gets the delivery."""
        payload: dict[str, Any] = {k.lower(): v for k, v in request.headers.items()}
        payload.update(
            body=await request.json(),
            query=dict(request.query),
            timestamp=int(time.time() * 1000),
        )
        self.send(request.match_info["channel"], self._frame(payload).decode())
        return web.Response(status=200)

    def send(self, channel: str, raw: str) -> None:
        """Write raw SSE text to every reader of a channel (tests use it for odd frames)."""
        for queue in self.readers.get(channel, []):
            queue.put_nowait(raw)

    def ping(self, channel: str) -> None:
        """smee's keep-alive, sent every 30 s."""
        self.send(channel, self._frame({}, "ping").decode())

    def drop(self) -> None:
        """End every stream (the service restarted)."""
        for queues in self.readers.values():
            for queue in queues:
                queue.put_nowait(None)

    async def wait_readers(self, channel: str, count: int = 1, timeout: float = 10) -> None:
        """Until `count` readers are connected to the channel."""
        deadline = time.monotonic() + timeout
        while len(self.readers.get(channel, [])) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reader on {channel} after {timeout} s")
            await asyncio.sleep(0.02)
