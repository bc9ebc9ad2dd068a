"""Per-user, per-minute rate limits by endpoint group, shared across processes through Redis.

A fixed one-minute window: one INCR and EXPIRE in a single round trip per request. Signed-in
requests count against the user; anonymous ones against the client address. When Redis fails,
requests are let through (with a warning) rather than turned into errors.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from app.core.config import IPNetwork
from app.web.api.context import runtime, settings
from app.web.api.errors import RATE_LIMIT_EXCEEDED, ApiError, error_response
from app.web.api.sessions import unverified_subject

log = logging.getLogger(__name__)

WINDOW = 60
DEFAULT_GROUP = "default"
DEFAULT_LIMITS: dict[str, int] = {
    "authentication": 10,
    "repositories": 60,
    "entities": 120,
    "analysis_trigger": 5,
    DEFAULT_GROUP: 100,
}
LIMITS = web.AppKey("tamagitto.api.rate_limits", dict[str, int])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def group_for(method: str, path: str) -> str:
    """The seed's groups; everything else shares the default per-user limit."""
    rel = path.removeprefix("/api")
    if rel.startswith("/auth/"):
        return "authentication"
    if rel.startswith("/repositories"):
        return "repositories"
    if rel.startswith("/entities"):
        return "entities"
    if rel == "/analysis/trigger" and method == "POST":
        return "analysis_trigger"
    return DEFAULT_GROUP


def forwarded_client(peer: str, forwarded: str | None, trusted: Sequence[IPNetwork]) -> str:
    """The client a request speaks for: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, X-Forwarded-For is read from the right and the first hop that is
    not itself a trusted proxy is the client. Anything to its left was written by the client
    and proves nothing. With no TRUSTED_PROXIES (the default), the header is never read.
    """
    if not forwarded or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded.split(",")]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop or peer
    return hops[0] or peer


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    """Is this address inside TRUSTED_PROXIES? A malformed one never is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(request: web.Request) -> str:
    """The request's client address, following X-Forwarded-For through trusted proxies only."""
    return forwarded_client(
        request.remote or "unknown",
        request.headers.get("X-Forwarded-For"),
        settings(request).trusted_networks,
    )


def subject_of(request: web.Request) -> str:
    """Whom a request counts against."""
    user = unverified_subject(request)
    return f"user:{user}" if user else f"ip:{client_address(request)}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's standing in its window."""

    limit: int
    count: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers every response carries."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


VERDICT = web.RequestKey("tamagitto.api.rate_verdict", Verdict)


class LocalCounter:
    """Embedded mode: counts in this process, forgetting past windows."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    def incr(self, key: str, window: int) -> int:
        """Count one request; a new window starts from zero."""
        if window != self._window:
            self._window, self._counts = window, {}
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]


LOCAL = web.AppKey("tamagitto.api.rate_counter", LocalCounter)


async def count(request: web.Request, key: str, window: int) -> int | None:
    """Increment this window's counter; None when Redis is unavailable (fail open)."""
    redis = runtime(request).redis
    if redis is None:
        return request.config_dict[LOCAL].incr(key, window)
    full = f"tamagitto:rl:{key}:{window}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, WINDOW + 5)
            hits, _ = await pipe.execute()
    except Exception as exc:
        log.warning(
            "rate limiter cannot reach Redis (%s); letting requests through", type(exc).__name__
        )
        return None
    return int(hits)


async def check(request: web.Request, group: str, now: float | None = None) -> Verdict:
    """Count this request in its group and say whether it may go on."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    limit = request.config_dict[LIMITS].get(group, DEFAULT_LIMITS.get(group, 100))
    hits = await count(request, f"{group}:{subject_of(request)}", window)
    return Verdict(limit, 0 if hits is None else hits, (window + 1) * WINDOW)


def too_many(verdict: Verdict, now: float) -> web.Response:
    """429 with Retry-After in seconds until the window resets."""
    retry = max(1, math.ceil(verdict.reset - now))
    response = error_response(
        ApiError(
            429,
            RATE_LIMIT_EXCEEDED,
            f"Too many requests: at most {verdict.limit} a minute here. Try again in {retry} s.",
            details={"limit": verdict.limit, "retry_after": retry},
        )
    )
    response.headers["Retry-After"] = str(retry)
    return response


@web.middleware
async def ratelimit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, refuse over the limit, and stamp the headers on every response."""
    if request.method == "OPTIONS":
        return await handler(request)
    now = time.time()
    verdict = await check(request, group_for(request.method, request.path), now)
    request[VERDICT] = verdict
    response = too_many(verdict, now) if not verdict.allowed else await handler(request)
    if not response.prepared:
        response.headers.update(verdict.headers())
    return response
