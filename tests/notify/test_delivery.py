"""Notifications (issue 18): state changes and digests delivered to local fake Slack and Discord
webhooks, at least once, deduplicated by event, at most one an hour per pet except deaths, with
retries when a receiver fails first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.care_models import Notification, NotifyCursor, NotifySecret
from app.core.config import Settings
from app.core.keyring import keyring
from app.core.models import Entity, Repository
from app.entities import lifecycle, pet_rows
from app.infra import registry
from app.infra.job_context import JobContext
from app.jobs import notify_delivery, notify_outbox, notify_secrets
from app.jobs.repo_config import parse_config
from tests.api.conftest import new_key
from tests.fakes.webhooks import Receiver
from tests.foundation.test_registry import RecordingQueue

DB = async_sessionmaker[AsyncSession]
CONFIG = b"notify:\n  slack: team\n  discord: room\n"


@dataclass
class World:
    ctx: JobContext
    db: DB
    slack: Receiver
    discord: Receiver
    repository_id: int
    entity_id: int

    @property
    def queue(self) -> RecordingQueue:
        return self.ctx.queue  # type: ignore[return-value]

    async def rows(self) -> list[Notification]:
        async with self.db() as session:
            return list(await session.scalars(select(Notification).order_by(Notification.id)))

    async def commit(self, delta: int) -> None:
        """A commit applied to the pet through the real service (history rows included)."""
        async with self.db.begin() as session:
            await lifecycle.record_commit(session, self.entity_id, delta, datetime.now(UTC))

    async def deliver_all(self) -> list[str]:
        return [
            await notify_delivery.deliver_notification(self.ctx, r.id) for r in await self.rows()
        ]

    async def make_due(self) -> None:
        async with self.db.begin() as session:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await session.execute(
                update(Notification).where(Notification.status == "pending").values(due_at=past)
            )


async def receiver(aiohttp_server: Any) -> tuple[Receiver, str]:
    fake = Receiver()
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def world(
    aiohttp_server: Any, make_settings: Callable[..., Settings], pg_url: str, pg_sessionmaker: DB
) -> AsyncIterator[World]:
    slack, slack_base = await receiver(aiohttp_server)
    discord, discord_base = await receiver(aiohttp_server)
    settings = make_settings(
        DATABASE_URL=pg_url,
        TOKEN_ENCRYPTION_KEYS=new_key("k1"),
        NOTIFY_WEBHOOK_HOSTS="127.0.0.1",
        PUBLIC_URL="https://pets.example.org",
    )
    ring = keyring(settings)
    assert ring is not None
    async with pg_sessionmaker.begin() as session:
        repo = Repository(github_id=42, full_name="acme/pets", owner_login="acme",
                          config=parse_config(CONFIG).as_dict())  # fmt: skip
        session.add(repo)
        await session.flush()
        pet = await lifecycle.create_pet(session, repo, datetime.now(UTC), name="Mochi")
        for name, kind, url in (
            ("team", "slack", f"{slack_base}/services/T1/B2/x"),
            ("room", "discord", f"{discord_base}/api/webhooks/1/y"),
        ):
            await notify_secrets.store(session, ring, repo.id, name, kind, url, None)  # fmt: skip
        await session.merge(NotifyCursor(name=notify_outbox.CURSOR, position=0))
    async with aiohttp.ClientSession() as http:
        ctx = {"settings": settings, "sessionmaker": pg_sessionmaker, "queue": RecordingQueue(),
               "http": http}  # fmt: skip
        yield World(JobContext(ctx), pg_sessionmaker, slack, discord, repo.id, pet.id)


async def test_a_state_change_reaches_both_webhooks_once(world: World) -> None:
    await world.commit(-45)  # 100 → 55: out of healthy
    assert await notify_outbox.scan(world.ctx) == 2
    assert await notify_outbox.scan(world.ctx) == 0  # the cursor moved
    assert await notify_outbox.sweep(world.ctx) == 2
    names = [call[0] for call in world.queue.calls]
    assert names == [registry.NOTIFY_DELIVER, registry.NOTIFY_DELIVER]
    assert await world.deliver_all() == ["sent", "sent"]
    (slack,) = world.slack.delivered
    assert slack["text"].startswith("⚠️ Mochi (acme/pets) dropped to okay: 55/100")
    assert "<https://pets.example.org/pets/acme/pets|See the pet>" in slack["text"]
    (discord,) = world.discord.delivered
    assert discord["allowed_mentions"] == {"parse": []}
    assert "dropped to okay" in discord["content"]
    # Delivered rows are done: a second job for them (a redelivery of the job) sends nothing.
    assert await world.deliver_all() == ["nothing to do (sent)"] * 2
    # Scanning the same history again makes no second message (the event id is unique).
    async with world.db.begin() as session:
        await session.execute(update(NotifyCursor).values(position=0))
    assert await notify_outbox.scan(world.ctx) == 0
    assert len(world.slack.received) == 1 and len(world.discord.received) == 1


async def test_a_receiver_that_fails_first_gets_the_message_on_a_retry(world: World) -> None:
    world.slack.fail_next(500)
    world.discord.fail_next(429, retry_after="2.5")
    await world.commit(-85)  # 100 → 15: dying
    await notify_outbox.scan(world.ctx)
    outcomes = await world.deliver_all()
    assert all(o.startswith("retry at") for o in outcomes), outcomes
    rows = await world.rows()
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [
        ("pending", 1, "HTTP 500"),
        ("pending", 1, "HTTP 429"),
    ]
    now = datetime.now(UTC)
    slack_wait = (rows[0].due_at - now).total_seconds()
    discord_wait = (rows[1].due_at - now).total_seconds()
    assert registry.NOTIFY_RETRY_DELAYS[0] - 2 < slack_wait <= registry.NOTIFY_RETRY_DELAYS[0]
    assert 0 < discord_wait <= 2.5  # Discord's own `retry_after`
    retries = [
        c
        for c in world.queue.calls
        if c[2]["job_id"].endswith(str(int(rows[0].due_at.timestamp())))
    ]
    assert retries and retries[0][2]["defer_by"] > 0  # the next try is queued, deferred
    assert await world.deliver_all() == ["not due yet", "not due yet"]
    await world.make_due()
    assert await world.deliver_all() == ["sent", "sent"]
    assert world.slack.attempts == 2 and len(world.slack.delivered) == 1
    assert "critical condition: 15/100" in world.slack.delivered[0]["text"]


async def test_at_most_one_message_an_hour_per_pet_except_deaths(world: World) -> None:
    await world.commit(-45)  # → 55 okay
    await notify_outbox.scan(world.ctx)
    await world.deliver_all()
    await world.commit(-40)  # → 15 dying, ten seconds later: must wait for the hour
    await notify_outbox.scan(world.ctx)
    rows = await world.rows()
    waiting = [await notify_delivery.deliver_notification(world.ctx, r.id) for r in rows[2:]]
    assert all(w.startswith("waits until") for w in waiting), waiting
    sent_at = rows[0].sent_at
    assert sent_at is not None
    refreshed = await world.rows()
    assert refreshed[2].due_at == sent_at + notify_delivery.RATE_WINDOW
    assert len(world.slack.delivered) == 1
    # Death is never held back.
    async with world.db.begin() as session:
        pet = await session.get(Entity, world.entity_id)
        assert pet is not None
        died = datetime.now(UTC)
        pet.status, pet.health, pet.died_at = "dead", 0, died
        session.add(pet_rows.history_row(pet.id, 0, 0, "death", died, None))
    await notify_outbox.scan(world.ctx)
    deaths = [r for r in await world.rows() if r.kind == "death"]
    assert [await notify_delivery.deliver_notification(world.ctx, r.id) for r in deaths] == [
        "sent"
    ] * 2
    assert "has died" in world.slack.delivered[-1]["text"]


async def test_a_newer_state_supersedes_a_pending_one(world: World) -> None:
    await world.commit(-45)  # okay
    await world.commit(-40)  # dying, before anything was sent
    await notify_outbox.scan(world.ctx)
    rows = await world.rows()
    assert [r.kind for r in rows] == ["okay", "okay", "dying", "dying"]
    assert await notify_delivery.deliver_notification(world.ctx, rows[0].id) == (
        "superseded by a newer state"
    )
    assert await notify_delivery.deliver_notification(world.ctx, rows[2].id) == "sent"
    assert "critical" in world.slack.delivered[0]["text"]


async def test_a_deleted_webhook_fails_for_good_and_a_missing_secret_retries(world: World) -> None:
    world.slack.fail_next(404)
    async with world.db.begin() as session:
        await session.execute(NotifySecret.__table__.delete().where(NotifySecret.name == "room"))
    await world.commit(-45)
    await notify_outbox.scan(world.ctx)
    outcomes = await world.deliver_all()
    assert outcomes[0] == "failed: HTTP 404"
    assert outcomes[1].startswith("retry at") and "no stored discord:room secret" in outcomes[1]
    assert [r.status for r in await world.rows()] == ["failed", "pending"]


async def test_weekly_digest_once_per_week_without_caretakers_when_off(world: World) -> None:
    await world.commit(5)
    monday = datetime(2026, 11, 16, 9, 3, tzinfo=UTC)
    assert await notify_outbox.add_digests(world.ctx, monday) == 2
    assert await notify_outbox.add_digests(world.ctx, monday + timedelta(hours=2)) == 0
    digest = (await world.rows())[0].payload
    assert digest["title"] == "Weekly digest for Mochi (acme/pets)"
    assert any(
        line.startswith("Top caretakers") or "No commits" in line for line in digest["lines"]
    )
    async with world.db.begin() as session:
        hidden = parse_config(CONFIG + b"caretakers: off\n").as_dict()
        await session.execute(update(Repository).values(config=hidden))
    assert await notify_outbox.add_digests(world.ctx, monday + timedelta(days=7)) == 2
    later = (await world.rows())[-1].payload
    assert not any("caretakers" in line or "Achievements" in line for line in later["lines"])
    outcomes = await world.deliver_all()
    assert outcomes[:2] == ["sent", "sent"]
    assert all(o.startswith("waits until") for o in outcomes[2:]), outcomes


async def test_the_outbox_works_on_sqlite_too(
    make_settings: Callable[..., Settings], sqlite_sessionmaker: DB
) -> None:
    settings = make_settings(PUBLIC_URL="https://pets.example.org")
    ctx = JobContext({"settings": settings, "sessionmaker": sqlite_sessionmaker,
                      "queue": RecordingQueue()})  # fmt: skip
    async with sqlite_sessionmaker.begin() as session:
        repo = Repository(github_id=43, full_name="acme/lite", owner_login="acme",
                          config=parse_config(CONFIG).as_dict())  # fmt: skip
        session.add(repo)
        await session.flush()
        pet = await lifecycle.create_pet(session, repo, datetime.now(UTC), name="Lite")
        await session.merge(NotifyCursor(name=notify_outbox.CURSOR, position=0))
    async with sqlite_sessionmaker.begin() as session:
        await lifecycle.record_commit(session, pet.id, -45, datetime.now(UTC))
    assert await notify_outbox.scan(ctx) == 2
    async with sqlite_sessionmaker.begin() as session:
        await session.execute(update(NotifyCursor).values(position=0))
    assert await notify_outbox.scan(ctx) == 0  # the same events: no second message
    assert await notify_outbox.sweep(ctx) == 2
    assert await notify_outbox.add_digests(ctx) == 2
