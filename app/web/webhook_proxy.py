"""WEBHOOK_PROXY_URL: webhooks reach a laptop through a smee-style channel, as in Probot.

GitHub cannot call `localhost`. A channel (smee.io, or a self-hosted smee) accepts each delivery
and relays it as a Server-Sent Event whose `data` is JSON: the delivery's headers (lower-cased
names) plus `body` (the payload, already parsed), `query` and `timestamp`. `tamagitto serve`
reads the stream and posts every delivery to its own webhook endpoint, so the signature check,
the body limits, deduplication and the queue are the very code a direct delivery meets. A
channel is public (anyone who knows its URL can post to it or read it), which is why nothing
here skips the signature check.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web
from prometheus_client import Counter

from app.core.config import Settings

log = logging.getLogger(__name__)

# smee pings every 30 s; a stream silent for longer than this is dead and is reopened.
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10, sock_read=75)
FORWARD_TIMEOUT = aiohttp.ClientTimeout(total=30)
MAX_DELAY = 60.0
# The local server may not listen yet (start-up) or may be busy (503): retry a little.
FORWARD_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)
# Only what GitHub's own request carried that the intake reads; never Host or Content-Length.
FORWARDED_HEADERS = ("x-github-", "x-hub-signature", "user-agent")
WEBHOOK_PATH = "/webhook/github"

MESSAGES = Counter(
    "tamagitto_webhook_proxy_messages_total", "Channel messages relayed", ["outcome"]
)


class ChannelError(Exception):
    """The channel answered, but not with an event stream."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched Server-Sent Event."""

    event: str
    data: str


def _lines(buffer: bytearray) -> list[str]:
    """Complete lines taken off the front of `buffer` (LF or CRLF endings)."""
    lines = []
    while (end := buffer.find(b"\n")) >= 0:
        lines.append(bytes(buffer[:end]).decode("utf-8", "replace").removesuffix("\r"))
        del buffer[: end + 1]
    return lines


def _field(line: str) -> tuple[str, str]:
    """`name: value` with one optional space after the colon, as the SSE standard says."""
    name, _, value = line.partition(":")
    return name, value.removeprefix(" ")


async def sse_events(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[SseEvent]:
    """Parse text/event-stream from raw chunks.

    Not line by line through aiohttp's readline: a relayed push can be megabytes on one line,
    past its 128 KiB line limit. An event larger than `limit` raises ChannelError instead of
    growing without bound (the relay then reconnects).
    """
    buffer, data = bytearray(), list[str]()
    event, size = "message", 0
    async for chunk in chunks:
        buffer += chunk
        for line in _lines(buffer):
            if not line:
                if data:
                    yield SseEvent(event, "\n".join(data))
                event, size = "message", 0
                data = []
                continue
            name, value = _field(line)
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
                size += len(value)
        if len(buffer) + size > limit:
            raise ChannelError(f"an event is larger than {limit} bytes")


def delivery_of(message: str) -> tuple[dict[str, str], bytes] | None:
    """The headers and body GitHub sent, rebuilt from one channel message.

    The channel parsed the body; it is serialised again compactly, as smee-client does with
    JSON.stringify. GitHub's own bodies are compact JSON, so the signature still matches.
    None for messages that are not deliveries (smee's `{}` pings and `ready`).
    """
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict) or "body" not in data:
        return None
    headers = {
        str(key): str(value)
        for key, value in data.items()
        if str(key).lower().startswith(FORWARDED_HEADERS)
    }
    headers["content-type"] = "application/json"
    try:
        body = json.dumps(data["body"], separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: it could not have been signed as UTF-8
        return None
    return headers, body


def local_webhook_url(settings: Settings) -> str:
    """The address this process's own webhook endpoint listens on (loopback when it can)."""
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}{WEBHOOK_PATH}"


def redact(url: str) -> str:
    """A channel URL is a capability (whoever has it reads the deliveries): log its host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def is_loopback(url: str) -> bool:
    """Whether GitHub could never reach this URL: localhost or a loopback address."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Post = Callable[[dict[str, str], bytes], Awaitable[int]]


class Relay:
    """Reads one channel and posts each delivery to the local intake, reconnecting forever."""

    def __init__(self, http: aiohttp.ClientSession, source: str, target: str, limit: int) -> None:
        self.http, self.source, self.target, self.limit = http, source, target, limit
        self.connects = 0

    async def run(self) -> None:
        """Keep a connection open; back off 1, 2, 4 … 60 s between failures, reset once open."""
        delay = 1.0
        while True:
            before = self.connects
            try:
                await self.consume()
                reason = "the channel closed the stream"
            except (aiohttp.ClientError, TimeoutError, ChannelError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if self.connects > before:
                delay = 1.0
            log.warning("webhook proxy: %s; reconnecting in %.0f s", reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def consume(self) -> None:
        """One connection: hand every message event to `deliver` until the stream ends."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        async with self.http.get(self.source, headers=headers, timeout=STREAM_TIMEOUT) as resp:
            if resp.status != 200 or resp.content_type != "text/event-stream":
                raise ChannelError(f"the channel answered {resp.status} {resp.content_type}")
            self.connects += 1
            log.info("webhook proxy: reading %s", redact(self.source))
            async for event in sse_events(resp.content.iter_any(), self.limit):
                if event.event == "message":
                    await self.deliver(event.data)

    async def deliver(self, message: str) -> int | None:
        """Post one delivery to the intake; its status tells what the intake did with it."""
        found = delivery_of(message)
        if found is None:
            MESSAGES.labels("ignored").inc()
            return None
        headers, body = found
        status = await self.post(headers, body)
        MESSAGES.labels(str(status)).inc()
        event, delivery = headers.get("x-github-event"), headers.get("x-github-delivery")
        log.info("webhook proxy: %s delivery %s -> %s", event, delivery, status)
        return status

    async def post(self, headers: dict[str, str], body: bytes) -> int:
        """POST to the intake, retrying while it does not listen yet or answers 503."""
        status = 0
        for delay in (*FORWARD_DELAYS, None):
            try:
                async with self.http.post(
                    self.target, data=body, headers=headers, timeout=FORWARD_TIMEOUT
                ) as resp:
                    status = resp.status
                    await resp.read()
            except (aiohttp.ClientConnectionError, TimeoutError):
                status = 0
            if status not in (0, 503) or delay is None:
                return status
            await asyncio.sleep(delay)
        return status


async def create_channel(http: aiohttp.ClientSession, new_url: str) -> str:
    """A fresh channel URL: `new_url` (smee's /new) redirects to it.

    Raises ChannelError when the answer is not a redirect to an http(s) URL.
    """
    async with http.get(new_url, allow_redirects=False, timeout=FORWARD_TIMEOUT) as resp:
        location = resp.headers.get("Location", "")
    channel = urljoin(new_url, location) if location else ""
    parts = urlsplit(channel)
    if not (300 <= resp.status < 400) or parts.scheme not in ("http", "https") or not parts.path:
        raise ChannelError(f"{redact(new_url)} answered {resp.status} without a channel")
    return channel


def for_process(settings: Settings, index: int) -> Settings:
    """Only the first of several web processes reads the channel: every reader gets every
    message, so a second one would only post duplicates."""
    if index == 0 or settings.webhook_proxy_url is None:
        return settings
    return settings.model_copy(update={"webhook_proxy_url": None})


def relay_ctx(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx entry: the relay task lives as long as the app, with its own HTTP session
    (the shared one has a 30 s total timeout, and a stream lasts hours)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if settings.webhook_proxy_url is None:
            yield
            return
        limit = 2 * settings.webhook_max_body + 64 * 1024  # JSON escaping can double a body
        async with aiohttp.ClientSession() as http:
            relay = Relay(http, settings.webhook_proxy_url, local_webhook_url(settings), limit)
            task = asyncio.create_task(relay.run(), name="webhook-proxy")
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx


def setup(app: web.Application) -> None:
    """Start the relay with the app when WEBHOOK_PROXY_URL is set."""
    from app.infra.runtime import SETTINGS

    app.cleanup_ctx.append(relay_ctx(app[SETTINGS]))
