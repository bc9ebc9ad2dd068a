"""Delivering one outbox row to its Slack or Discord webhook: at least once, once per event.

`deliver_notification` claims the row (so two jobs never send it together), checks it is
still worth sending (a newer state of the same pet supersedes it) and allowed (at most one
message per pet and destination an hour, deaths excepted: a message that must wait is due at
the end of the hour), opens the stored secret, posts, and records the outcome. A failure is
retried on `registry.NOTIFY_RETRY_DELAYS` (or the webhook's own `Retry-After`); a refusal
that will not change (the webhook was deleted: 404, 410; 400, 401, 403) fails the row for
good. The row is marked sent only after a 2xx, so a crash in between sends it again: at least
once, as promised, and the unique event key keeps one event from becoming two rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.care_models import Notification
from app.core.keyring import keyring
from app.core.models import utcnow
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import notify_messages as messages
from app.jobs import notify_secrets
from app.jobs.notify_config import Target
from app.jobs.notify_outbox import CLAIM_TIMEOUT

log = logging.getLogger(__name__)

RATE_WINDOW: Final = timedelta(hours=1)
TIMEOUT: Final = aiohttp.ClientTimeout(total=10, connect=5)
MAX_RETRY_AFTER: Final = 3600.0
MAX_ERROR: Final = 500


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row claimed for sending: where it goes, what it says, and the opened URL ("" when no
    stored secret opens)."""

    id: int
    target: str
    payload: dict[str, Any]
    url: str


@dataclass(frozen=True, slots=True)
class Posted:
    """What one POST gave: success, or why not and whether to try again (and when)."""

    ok: bool
    error: str | None = None
    retry: bool = False
    retry_after: float | None = None


def retry_after(resp: aiohttp.ClientResponse, body: bytes) -> float | None:
    """Seconds to wait from `Retry-After` (Slack) or the JSON `retry_after` (Discord)."""
    header = resp.headers.get("Retry-After")
    try:
        if header is not None:
            return min(MAX_RETRY_AFTER, max(0.0, float(header)))
        data = json.loads(body or b"{}")
        if isinstance(data, dict) and "retry_after" in data:
            return min(MAX_RETRY_AFTER, max(0.0, float(data["retry_after"])))
    except (ValueError, TypeError):
        return None
    return None


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Posted:
    """POST the message; redirects are not followed (the URL was checked, its target not)."""
    try:
        async with http.post(url, json=body, timeout=TIMEOUT, allow_redirects=False) as resp:
            data = await resp.read()
            if 200 <= resp.status < 300:
                return Posted(True)
            error = f"HTTP {resp.status}"
            if resp.status == 429:
                return Posted(False, error, True, retry_after(resp, data))
            return Posted(False, error, resp.status >= 500 or resp.status == 408)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Posted(False, f"{type(exc).__name__}: {exc}"[:MAX_ERROR], True)


async def _superseded(session: AsyncSession, row: Notification) -> bool:
    """A newer state message of the same pet waits for this destination."""
    if row.kind not in messages.SUPERSEDABLE:
        return False
    newer = await session.scalar(
        select(Notification.id)
        .where(
            Notification.repository_id == row.repository_id,
            Notification.target == row.target,
            Notification.id > row.id,
            Notification.kind.in_(messages.STATE_KINDS),
            Notification.status.in_(("pending", "sending")),
        )
        .limit(1)
    )
    return newer is not None


async def _window_ends(session: AsyncSession, row: Notification, now: datetime) -> datetime | None:
    """When the hour since this destination's last message of this pet ends (None: now)."""
    if row.kind == messages.DEATH:
        return None
    last = await session.scalar(
        select(func.max(Notification.sent_at)).where(
            Notification.repository_id == row.repository_id,
            Notification.target == row.target,
            Notification.status == "sent",
            Notification.kind != messages.DEATH,
        )
    )
    return None if last is None or last + RATE_WINDOW <= now else last + RATE_WINDOW


async def _schedule(
    ctx: JobContext, row_id: int, attempts: int, due: datetime, now: datetime
) -> None:
    """A job for the row's next try; if the queue refuses, the sweep queues it when due."""
    try:
        await registry.enqueue_notification(
            ctx.queue, row_id, attempts, due.timestamp(),
            defer_by=(due - now).total_seconds(),
        )  # fmt: skip
    except Exception as exc:
        log.warning("notification %d: next try not queued (%s)", row_id, type(exc).__name__)


async def claim(ctx: JobContext, row_id: int, now: datetime) -> Claimed | str:
    """The row and its URL, claimed for sending; or why this job has nothing to send."""
    ring = keyring(ctx.settings)
    async with ctx.sessionmaker.begin() as session:
        row = await session.scalar(
            select(Notification).where(Notification.id == row_id).with_for_update()
        )
        if row is None or row.status in ("sent", "failed", "superseded"):
            return f"nothing to do ({row.status if row else 'gone'})"
        if row.status == "sending" and row.claimed_at and row.claimed_at > now - CLAIM_TIMEOUT:
            return "another job is sending it"
        if row.due_at > now:
            return "not due yet"
        if await _superseded(session, row):
            row.status = "superseded"
            return "superseded by a newer state"
        ends = await _window_ends(session, row, now)
        if ends is not None:
            row.due_at = ends
            await session.flush()
            await _schedule(ctx, row.id, row.attempts, ends, now)
            return f"waits until {ends.isoformat()} (one message an hour)"
        target = Target.parse(row.target)
        url = None
        if target is not None and ring is not None:
            url = await notify_secrets.url_for(session, ring, row.repository_id, target)
        row.status, row.claimed_at = "sending", now
        return Claimed(row.id, row.target, dict(row.payload or {}), url or "")


async def finish(ctx: JobContext, row_id: int, posted: Posted, now: datetime) -> str:
    """Record the outcome: sent, failed for good, or the next try's time."""
    async with ctx.sessionmaker.begin() as session:
        row = await session.get(Notification, row_id, with_for_update=True)
        if row is None:
            return "gone"
        row.attempts += 1
        row.claimed_at = None
        if posted.ok:
            row.status, row.sent_at, row.last_error = "sent", now, None
            return "sent"
        row.last_error = posted.error
        if not posted.retry or row.attempts >= registry.NOTIFY_MAX_TRIES:
            row.status = "failed"
            log.warning("notification %d failed for good: %s", row.id, posted.error)
            return f"failed: {posted.error}"
        delay = registry.NOTIFY_RETRY_DELAYS[row.attempts - 1]
        due = now + timedelta(seconds=posted.retry_after if posted.retry_after else delay)
        row.status, row.due_at = "pending", due
        attempts = row.attempts
    await _schedule(ctx, row_id, attempts, due, now)
    return f"retry at {due.isoformat()}: {posted.error}"


async def deliver_notification(ctx: JobContext, notification_id: int) -> str:
    """Job: send one outbox row to its destination (see the module's docstring)."""
    now = utcnow()
    claimed = await claim(ctx, notification_id, now)
    if isinstance(claimed, str):
        return claimed
    if not claimed.url:
        why = f"no stored {claimed.target} secret opens with today's keys"
        return await finish(ctx, claimed.id, Posted(False, why, True), now)
    service = claimed.target.partition(":")[0]
    body = messages.render(service, claimed.payload)
    posted = await post(ctx.http, claimed.url, body)
    return await finish(ctx, claimed.id, posted, utcnow())


__all__ = ["Claimed", "Posted", "claim", "deliver_notification", "finish", "post", "retry_after"]
