"""The webhook endpoint: verify, deduplicate, queue durably, answer 202. Nothing more.

GitHub gives a delivery 10 seconds and never redelivers on its own, so this path does the least
it can: one HMAC and one queue round trip. Routing, API calls and writes happen in the worker.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from datetime import timedelta

import orjson
from aiohttp import web
from prometheus_client import Counter

from app.core.config import Settings
from app.infra import registry
from app.infra.queue.base import QueueUnavailable
from app.infra.runtime import SETTINGS, runtime_of
from app.web.api.errors import error_body

log = logging.getLogger(__name__)

PATHS = ("/webhook/github", "/api/github/webhooks")
REDELIVERY_WINDOW = timedelta(days=3)

DELIVERIES = Counter("tamagitto_webhook_deliveries_total", "Webhook deliveries", ["outcome"])
# The two outcomes of every signed delivery, looked up once (`labels()` takes a lock each call).
QUEUED = DELIVERIES.labels("queued")
DUPLICATE = DELIVERIES.labels("duplicate")
JSON_TYPE = {"Content-Type": "application/json"}


def error(status: int, code: str, message: str) -> web.Response:
    """The API's error shape, used for every refusal on this path."""
    DELIVERIES.labels(code).inc()
    return web.json_response(error_body(code, message), status=status)


class Refused(Exception):
    """A delivery turned away before it was verified; `answer()` is the response."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def answer(self) -> web.Response:
        response = error(self.status, self.code, self.message)
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


class BodyBudget:
    """Bytes held by bodies whose signature is not verified yet, across this process.

    Anyone can send 25 MB; only a delivery that proves it knows the secret may keep it. While
    the budget is spent, further unverified bytes get 503 instead of memory.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False when that would pass the limit."""
        if self.used + size > self.limit:
            return False
        self.used += size
        self.peak = max(self.peak, self.used)
        return True

    def give(self, size: int) -> None:
        """Release bytes once their request is verified or refused."""
        self.used -= size


BUDGET = web.AppKey("tamagitto.webhooks.body_budget", BodyBudget)


def _signature(settings: Settings, header: str | None) -> tuple[bytes, str]:
    """The secret and the hex digest to match; refused before any byte of the body is read."""
    if settings.webhook_secret is None:
        raise Refused(401, "webhook_verification_failed", "WEBHOOK_SECRET is not configured")
    if not header or not header.startswith("sha256="):
        raise Refused(401, "webhook_verification_failed", "X-Hub-Signature-256 is missing")
    return settings.webhook_secret.get_secret_value().encode(), header.removeprefix("sha256=")


def _too_large(limit: int) -> Refused:
    return Refused(413, "payload_too_large", f"webhook payloads are limited to {limit} bytes")


def _budget_spent() -> Refused:
    return Refused(503, "server_busy", "too many unverified bytes in flight; retry", retry_after=5)


@functools.lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    """An HMAC keyed with the secret once; each delivery hashes into a copy of it."""
    return hmac.new(secret, digestmod=hashlib.sha256)


async def _stream(
    request: web.Request, limit: int, budget: BodyBudget, mac: hmac.HMAC
) -> list[bytes]:
    """Read under the per-request limit and the shared budget, feeding the HMAC per chunk.

    Each read takes what has arrived (one read for a body that came with its headers).
    """
    declared = request.content_length or 0
    if declared > limit:
        raise _too_large(limit)
    if not budget.take(declared):
        raise _budget_spent()
    reserved, chunks, size = declared, [], 0
    content = request.content
    try:
        while not content.at_eof():
            chunk = await content.readany()
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if size > reserved:
                if not budget.take(size - reserved):
                    raise _budget_spent()
                reserved = size
            mac.update(chunk)
            chunks.append(chunk)
    finally:
        budget.give(reserved)
    return chunks


async def read_signed(request: web.Request, settings: Settings, budget: BodyBudget) -> bytes:
    """The body, verified while it streams in (sha256 HMAC, constant-time compare).

    Unsigned requests are refused before reading; signed ones hold memory only within the
    budget until the signature checks out. Raises Refused.
    """
    secret, expected = _signature(settings, request.headers.get("X-Hub-Signature-256"))
    mac = _keyed(secret).copy()
    chunks = await _stream(request, settings.webhook_max_body, budget, mac)
    if not hmac.compare_digest(mac.hexdigest(), expected):
        raise Refused(
            401, "webhook_verification_failed", "X-Hub-Signature-256 does not match the payload"
        )
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def is_json(body: bytes) -> bool:
    """GitHub Apps always send a JSON object; anything else is a malformed delivery."""
    try:
        return isinstance(orjson.loads(body), dict)
    except orjson.JSONDecodeError:
        return False


def accepted(delivery: str, status: int, key: str) -> web.Response:
    """The small success bodies, encoded without the json module (this path is hot)."""
    body = orjson.dumps({key: True, "delivery": delivery})
    return web.Response(body=body, status=status, headers=JSON_TYPE)


async def receive(request: web.Request) -> web.Response:
    """POST /webhook/github (and Probot's path): the acknowledge path."""
    event = request.headers.get("X-GitHub-Event")
    delivery = request.headers.get("X-GitHub-Delivery")
    if not event or not delivery:
        return error(400, "invalid_request", "X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        body = await read_signed(request, request.app[SETTINGS], request.app[BUDGET])
    except Refused as refused:
        return refused.answer()
    if not is_json(body):
        return error(400, "invalid_request", "the payload is not a JSON object")
    if event == "ping":
        DELIVERIES.labels("ping").inc()
        return web.json_response({"ok": True, "event": "ping"})
    return await enqueue(request, event, delivery, body)


async def enqueue(request: web.Request, event: str, delivery: str, body: bytes) -> web.Response:
    """Store the delivery durably, deduplicated by delivery id over the redelivery window."""
    queue = runtime_of(request).queue
    try:
        queued = await registry.enqueue_event(
            queue,
            event,
            delivery,
            body.decode("utf-8", "replace"),
            unique_for=REDELIVERY_WINDOW.total_seconds(),
        )
    except QueueUnavailable as exc:
        log.error("webhook %s (%s) refused: queue unavailable (%s)", delivery, event, exc)
        return error(503, "queue_unavailable", "the event could not be stored; retry later")
    if not queued:
        DUPLICATE.inc()
        return accepted(delivery, 200, "duplicate")
    QUEUED.inc()
    return accepted(delivery, 202, "queued")


def setup(app: web.Application) -> None:
    """Serve the seed's path, Probot's path, and WEBHOOK_PATH if set."""
    settings = app[SETTINGS]
    app[BUDGET] = BodyBudget(settings.unverified_body_budget)
    paths = list(PATHS)
    if settings.webhook_path and settings.webhook_path not in paths:
        paths.append(settings.webhook_path)
    for path in paths:
        app.router.add_post(path, receive)
