"""The webhook endpoint: verify, deduplicate, queue durably, answer 202. Nothing more.

GitHub gives a delivery 10 seconds and never redelivers on its own, so this path does the least
it can: one HMAC and one queue round trip. Routing, API calls and writes happen in the worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import orjson
from aiohttp import web
from gidgethub import ValidationFailure
from gidgethub.sansio import validate_event
from prometheus_client import Counter

from app.api.errors import error_body
from app.config import Settings
from app.queue import QueueUnavailable
from app.web import SETTINGS, runtime_of

log = logging.getLogger(__name__)

PATHS = ("/webhook/github", "/api/github/webhooks")
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
REDELIVERY_WINDOW = timedelta(days=3)
PROCESS_EVENT = "process_event"

DELIVERIES = Counter("tamagitto_webhook_deliveries_total", "Webhook deliveries", ["outcome"])


def error(status: int, code: str, message: str) -> web.Response:
    """The API's error shape, used for every refusal on this path."""
    DELIVERIES.labels(code).inc()
    return web.json_response(error_body(code, message), status=status)


async def read_limited(request: web.Request, limit: int = MAX_BODY) -> bytes | None:
    """The body, or None once it passes `limit`: a huge body is never held in memory whole."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def verify(settings: Settings, body: bytes, signature: str | None) -> str | None:
    """None when the sha256 signature matches (constant-time, gidgethub); else why not."""
    if settings.webhook_secret is None:
        return "WEBHOOK_SECRET is not configured"
    if not signature or not signature.startswith("sha256="):
        return "X-Hub-Signature-256 is missing"
    try:
        validate_event(body, signature=signature, secret=settings.webhook_secret.get_secret_value())
    except ValidationFailure:
        return "X-Hub-Signature-256 does not match the payload"
    return None


def is_json(body: bytes) -> bool:
    """GitHub Apps always send a JSON object; anything else is a malformed delivery."""
    try:
        return isinstance(orjson.loads(body), dict)
    except orjson.JSONDecodeError:
        return False


def accepted(delivery: str, status: int, key: str) -> web.Response:
    """The small success bodies, encoded without the json module (this path is hot)."""
    body = orjson.dumps({key: True, "delivery": delivery})
    return web.Response(body=body, status=status, content_type="application/json")


async def receive(request: web.Request) -> web.Response:
    """POST /webhook/github (and Probot's path): the acknowledge path."""
    event = request.headers.get("X-GitHub-Event")
    delivery = request.headers.get("X-GitHub-Delivery")
    if not event or not delivery:
        return error(400, "invalid_request", "X-GitHub-Event and X-GitHub-Delivery are required")
    body = await read_limited(request)
    if body is None:
        return error(413, "payload_too_large", "webhook payloads are limited to 25 MB")
    problem = verify(request.app[SETTINGS], body, request.headers.get("X-Hub-Signature-256"))
    if problem:
        return error(401, "webhook_verification_failed", problem)
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
        queued = await queue.enqueue(
            PROCESS_EVENT,
            event,
            delivery,
            body.decode("utf-8", "replace"),
            job_id=f"delivery:{delivery}",
            unique_for=REDELIVERY_WINDOW.total_seconds(),
        )
    except QueueUnavailable as exc:
        log.error("webhook %s (%s) refused: queue unavailable (%s)", delivery, event, exc)
        return error(503, "queue_unavailable", "the event could not be stored; retry later")
    if not queued:
        DELIVERIES.labels("duplicate").inc()
        return accepted(delivery, 200, "duplicate")
    DELIVERIES.labels("queued").inc()
    return accepted(delivery, 202, "queued")


def setup(app: web.Application) -> None:
    """Serve the seed's path, Probot's path, and WEBHOOK_PATH if set."""
    settings = app[SETTINGS]
    paths = list(PATHS)
    if settings.webhook_path and settings.webhook_path not in paths:
        paths.append(settings.webhook_path)
    for path in paths:
        app.router.add_post(path, receive)
