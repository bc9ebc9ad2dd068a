"""The event-bus seam: Redis pub/sub across processes in production, in-process otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

Event = dict[str, Any]
DEFAULT_CHANNEL = "tamagitto:events"
SUBSCRIBER_BUFFER = 1000
SESSION_ENDED = "session_ended"


def session_ended(user_id: int, jti: str | None = None) -> Event:
    """Ask every web process to close a person's WebSockets at once.

    With `jti`, only sockets opened with that session (logout, token rotation); without it,
    all of the person's sockets (they revoked the App's authorization on GitHub).
    """
    return {"type": SESSION_ENDED, "user_id": user_id, "jti": jti}


def event_channel(redis_url: str) -> str:
    """The pub/sub channel for a Redis URL's database.

    Pub/sub ignores database numbers, so the channel names the database: deployments and test
    runs that share one Redis on different databases never hear each other.
    """
    from urllib.parse import urlsplit

    path = urlsplit(redis_url).path.strip("/")
    return f"{DEFAULT_CHANNEL}:{path or '0'}"


class EventBus(Protocol):
    """Publish pet events; every subscriber in every web process receives them."""

    async def publish(self, event: Event) -> None:
        """Send one event (a JSON-serialisable dict with a `type`)."""
        ...

    def subscribe(
        self, maxsize: int = SUBSCRIBER_BUFFER
    ) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Receive events published from now on, until the context exits."""
        ...


@dataclass(eq=False)
class Subscription:
    """A bounded inbox: a subscriber that falls behind loses events instead of blocking others."""

    maxsize: int = SUBSCRIBER_BUFFER
    dropped: int = 0
    queue: asyncio.Queue[Event] = field(init=False)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.maxsize)

    def offer(self, event: Event) -> None:
        """Deliver without waiting; count what a full inbox could not take."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def get(self) -> Event:
        """The next event."""
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()


class LocalBus:
    """In-process bus: publish hands the event to every local subscriber."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    async def publish(self, event: Event) -> None:
        """Fan out now; JSON round trip so both buses deliver the same shapes."""
        self.dispatch(json.loads(json.dumps(event, default=str)))

    def dispatch(self, event: Event) -> None:
        """Offer one event to every subscriber."""
        for sub in tuple(self._subscribers):
            sub.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, maxsize: int = SUBSCRIBER_BUFFER) -> AsyncIterator[Subscription]:
        """Register an inbox for the duration of the context."""
        sub = Subscription(maxsize)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """How many inboxes are open (metrics and tests)."""
        return len(self._subscribers)


class RedisBus:
    """Cross-process bus: PUBLISH to one channel; one reader task per process feeds local inboxes.

    One Redis subscription per process, not per WebSocket, keeps Redis load independent of the
    number of clients. The reader reconnects with backoff when Redis goes away.
    """

    def __init__(self, redis: Redis, channel: str = DEFAULT_CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        self.local = LocalBus()
        self.connected = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def publish(self, event: Event) -> None:
        """Serialize once; every process's reader decodes it."""
        await self.redis.publish(self.channel, json.dumps(event, default=str))

    def subscribe(
        self, maxsize: int = SUBSCRIBER_BUFFER
    ) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Local inbox fed by this process's reader."""
        return self.local.subscribe(maxsize)

    async def start(self) -> None:
        """Start the reader and wait briefly for its subscription (events before it are lost)."""
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5)

    async def stop(self) -> None:
        """Cancel the reader."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read_forever(self) -> None:
        """Subscribe, relay, and on any Redis error log it and resubscribe with backoff."""
        delay = 0.5
        while True:
            try:
                await self._read_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                log.warning("event bus lost Redis (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                delay = 0.5

    async def _read_once(self) -> None:
        """One subscription's lifetime."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.connected.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._relay(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated

    def _relay(self, data: bytes | str) -> None:
        """Decode and dispatch; a malformed message is logged, never fatal."""
        try:
            event = json.loads(data)
        except (ValueError, TypeError):
            log.warning("event bus: ignoring a message that is not JSON")
            return
        if isinstance(event, dict):
            self.local.dispatch(event)
