"""The notification outbox: state changes read off the health history, weekly digests, and the
sweep that queues whatever is due.

Nothing on the commit path or in the decay cron has to remember to notify: every change of a
pet's health is a `health_history` row, and `scan_notifications` (every minute) reads the rows
after its cursor, keeps those that cross a line (`notify_messages.kind_of`), and writes one
`notifications` row per destination the repository's config names, with the history row's id
as the event id. The cursor moves in the same transaction, so a crash repeats a scan and the
unique (event, destination) key keeps it from making a second message: at least once, never
twice. `send_digests` (Mondays) adds one digest per repository and ISO week the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from arq.cron import CronJob, cron
from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.care_models import Achievement, Notification, NotifyCursor
from app.core.models import CommitAnalysis, Entity, HealthHistory, Repository, utcnow
from app.entities import achievements, rules
from app.entities.streaks import day_number
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import notify_messages as messages
from app.jobs.notify_config import targets_of
from app.read import caretakers

log = logging.getLogger(__name__)

CURSOR: Final = "health_history"
SCAN_CHUNK: Final = 20_000  # history ids per transaction
SCAN_BUDGET: Final = 20.0  # seconds per run; the next run goes on from the cursor
SWEEP_LIMIT: Final = 500
CLAIM_TIMEOUT: Final = timedelta(minutes=5)  # a `sending` row older than this was abandoned
DIGEST_DAYS: Final = 7
DIGEST_TOP: Final = 3
H = HealthHistory


def pet_url(base_url: str, full_name: str) -> str:
    """The pet page a message links to."""
    return f"{base_url}/pets/{full_name}"


def _crossing() -> Any:
    """History rows that may be state changes (`kind_of` decides), as SQL."""
    before = H.health_score - H.delta
    return or_(
        H.reason.in_([rules.REASON_DEATH, rules.REASON_REVIVAL]),
        (H.health_score < rules.HEALTHY_AT) & (before >= rules.HEALTHY_AT),
        (H.health_score < rules.POOR_AT) & (before >= rules.POOR_AT),
        (H.health_score >= rules.POOR_AT) & (before < rules.POOR_AT),
    )


async def _cursor(session: AsyncSession) -> NotifyCursor:
    """The cursor row, locked; made at the history's end when missing (no backlog)."""
    row = await session.scalar(
        select(NotifyCursor).where(NotifyCursor.name == CURSOR).with_for_update()
    )
    if row is None:
        top = await session.scalar(select(func.max(H.id)))
        row = NotifyCursor(name=CURSOR, position=int(top or 0))
        session.add(row)
        await session.flush()
    return row


async def add_messages(
    session: AsyncSession,
    event_id: str,
    repository_id: int,
    entity_id: int | None,
    targets: Sequence[str],
    payload: dict[str, Any],
    due: datetime,
) -> int:
    """One outbox row per destination; an (event, destination) already there is left alone."""
    if not targets:
        return 0
    values = [
        {"event_id": event_id, "target": target, "repository_id": repository_id,
         "entity_id": entity_id, "kind": payload["kind"], "payload": payload, "status": "pending",
         "attempts": 0, "due_at": due, "created_at": due}
        for target in targets
    ]  # fmt: skip
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Notification).values(values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _cause(row: Any, shown: bool) -> str | None:
    """What caused a change: the commit (with its author when caretakers are shown), decay."""
    if row.reason == rules.REASON_DECAY:
        return "days without a commit (daily decay)"
    if row.sha is None:
        return None
    reason = (row.reasons or [{}])[0].get("detail") if row.reasons else None
    author = f" by {row.author_name}" if shown and row.author_name else ""
    return f"{row.sha[:7]}{author}" + (f": {reason}" if reason else "")


async def _scan_chunk(session: AsyncSession, low: int, high: int, base_url: str) -> int:
    """Outbox rows for the state changes among history ids (low, high]."""
    query = (
        select(H.id, H.entity_id, H.health_score, H.delta, H.reason, H.recorded_at,
               Entity.name, Entity.generation, Repository.id.label("repository_id"),
               Repository.full_name, Repository.config, CommitAnalysis.sha,
               CommitAnalysis.author_name, CommitAnalysis.reasons)
        .join(Entity, Entity.id == H.entity_id)
        .join(Repository, Repository.id == Entity.repository_id)
        .outerjoin(CommitAnalysis, CommitAnalysis.id == H.analysis_id)
        .where(H.id > low, H.id <= high, _crossing())
        .order_by(H.id)
    )  # fmt: skip
    made = 0
    for row in (await session.execute(query)).all():
        kind = messages.kind_of(row.health_score, row.delta, row.reason)
        config = row.config or {}
        if kind is None or not config.get("notify_states", True):
            continue
        targets = [t.key for t in targets_of(config)]
        shown = caretakers.shown(config)
        change = messages.Change(kind, row.name, row.full_name, row.health_score, row.generation,
                                 _cause(row, shown))  # fmt: skip
        payload = messages.state_payload(change, pet_url(base_url, row.full_name))
        made += await add_messages(session, f"history:{row.id}", row.repository_id,
                                   row.entity_id, targets, payload, utcnow())  # fmt: skip
    return made


async def scan(ctx: JobContext) -> int:
    """Read the history after the cursor, chunk by chunk, within the time budget."""
    started, made = time.monotonic(), 0
    base_url = ctx.settings.public_url
    while time.monotonic() - started < SCAN_BUDGET:
        async with ctx.sessionmaker.begin() as session:
            cursor = await _cursor(session)
            top = int(await session.scalar(select(func.max(H.id))) or 0)
            high = min(top, cursor.position + SCAN_CHUNK)
            if high <= cursor.position:
                break
            made += await _scan_chunk(session, cursor.position, high, base_url)
            cursor.position = high
        if high >= top:
            break
    return made


def job_due(row: Notification) -> float:
    """The time a delivery job's id carries: the claim it takes over, else when it is due."""
    when = row.claimed_at if row.status == "sending" and row.claimed_at else row.due_at
    return when.timestamp()


async def sweep(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue a delivery for every row that is due (and for claims a crashed worker left)."""
    now = now or utcnow()
    due = (Notification.status == "pending") & (Notification.due_at <= now)
    abandoned = (Notification.status == "sending") & (Notification.claimed_at < now - CLAIM_TIMEOUT)
    async with ctx.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(Notification).where(due | abandoned).order_by(Notification.due_at)
                .limit(SWEEP_LIMIT)
            )
        )  # fmt: skip
    queue, queued = ctx.queue, 0
    for row in rows:
        queued += await registry.enqueue_notification(queue, row.id, row.attempts, job_due(row))
    return queued


async def scan_notifications(ctx: JobContext) -> dict[str, int]:
    """Cron, every minute: state changes into the outbox, then queue what is due."""
    made = await scan(ctx)
    queued = await sweep(ctx)
    if made or queued:
        log.info("notifications: %d new, %d queued", made, queued)
    return {"new": made, "queued": queued}


async def _health_then(session: AsyncSession, pet: Entity, since: datetime) -> int:
    """The pet's health at `since` (full health if it hatched later)."""
    found = await session.scalar(
        select(H.health_score)
        .where(H.entity_id == pet.id, H.recorded_at <= since)
        .order_by(H.recorded_at.desc(), H.id.desc())
        .limit(1)
    )
    return rules.MAX_HEALTH if found is None else int(found)


def _title(code: str) -> str:
    """An achievement's title (its code when it was retired since)."""
    kind = achievements.BY_CODE.get(code)
    return kind.title if kind else code


async def _digest(
    session: AsyncSession, repo: Repository, pet: Entity, now: datetime, base_url: str
) -> dict[str, Any]:
    """One repository's digest payload for the week up to `now`."""
    since = now - timedelta(days=DIGEST_DAYS)
    top: list[tuple[str, int, int]] | None = None
    earned: list[tuple[str, str, str]] | None = None
    if caretakers.shown(repo.config):
        today = day_number(now)
        first = today - DIGEST_DAYS + 1
        summed = await caretakers.tally(session, repo.id, first)
        week, _ = await caretakers.periods(session, repo.id, summed, first, today)
        top = [(c.person.name, c.net, c.commits) for c in week.caretakers[:DIGEST_TOP]]
        grants = await session.scalars(
            select(Achievement).where(
                Achievement.repository_id == repo.id, Achievement.earned_at >= since
            )
        )
        earned = [(g.name, _title(g.code), g.sha) for g in grants]
    health = (await _health_then(session, pet, since), pet.health)
    url = pet_url(base_url, repo.full_name)
    return messages.digest_payload(pet.name, repo.full_name, health, top, earned, url)


async def add_digests(ctx: JobContext, now: datetime | None = None) -> int:
    """One digest per repository that asks for it, for the ISO week of `now`."""
    now = now or utcnow()
    year, week, _ = now.isocalendar()
    base_url, made = ctx.settings.public_url, 0
    async with ctx.sessionmaker.begin() as session:
        rows = await session.execute(
            select(Repository, Entity)
            .join(Entity, (Entity.repository_id == Repository.id) & Entity.is_current.is_(True))
            .where(Repository.monitoring_enabled.is_(True))
        )
        for repo, pet in rows.all():
            config = repo.config or {}
            targets = [t.key for t in targets_of(config)]
            if not targets or not config.get("notify_digest", True):
                continue
            payload = await _digest(session, repo, pet, now, base_url)
            event = f"digest:{repo.id}:{year}-W{week:02d}"
            made += await add_messages(session, event, repo.id, pet.id, targets, payload, now)
    return made


async def send_digests(ctx: JobContext) -> dict[str, int]:
    """Cron, Mondays: the week's digests into the outbox, then queue them."""
    made = await add_digests(ctx)
    return {"new": made, "queued": await sweep(ctx)}


def cron_jobs() -> list[CronJob]:
    """The scan every minute (at second 20), the digests on Mondays at 09:03 UTC."""
    return [
        cron(registry.as_arq(scan_notifications), name=registry.NOTIFY_SCAN, second=20,
             unique=True, timeout=300),
        cron(registry.as_arq(send_digests), name=registry.NOTIFY_DIGEST, weekday="mon", hour=9,
             minute=3, second=0, unique=True, timeout=1800),
    ]  # fmt: skip


__all__ = [
    "add_digests",
    "add_messages",
    "cron_jobs",
    "pet_url",
    "scan",
    "scan_notifications",
    "send_digests",
    "sweep",
]
