"""The pet in the database: birth, commits, revival, the entity object, and the cron job."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Entity, EntityImage, HealthHistory, Repository
from app.entities import jobs, lifecycle, pictures, rules, shapes
from app.entities.rules import CooldownActive, PetAlive
from app.entities.species import pet_name
from app.infra.job_context import JobContext
from tests.entities.conftest import T0, add_repository

Maker = async_sessionmaker[AsyncSession]
DAY = timedelta(days=1)


async def born(
    maker: Maker, language: str | None = "TypeScript", **kw: Any
) -> tuple[Entity, Repository]:
    """A repository and its committed newborn pet."""
    repo = await add_repository(maker, language=language, archived=kw.pop("archived", False))
    async with maker() as session, session.begin():
        pet = await lifecycle.create_pet(session, repo, T0, **kw)
    return pet, repo


async def reasons(maker: Maker, entity_id: int) -> list[tuple[str, int, int]]:
    """(reason, health, delta) of a pet's history, oldest first."""
    async with maker() as session:
        rows = await session.scalars(
            select(HealthHistory)
            .where(HealthHistory.entity_id == entity_id)
            .order_by(HealthHistory.id)
        )
        return [(r.reason, r.health_score, r.delta) for r in rows]


async def test_create_pet_from_language_with_sprites(any_sessionmaker: Maker) -> None:
    """Species from the language, a stable name, full health, six sprite rows that parse."""
    pet, repo = await born(any_sessionmaker, "TypeScript")
    assert (pet.species, pet.generation, pet.health, pet.status) == ("pet", 1, 100, "alive")
    assert pet.subspecies in {"cat", "dog", "hamster"}
    assert pet.name == pet_name(repo.github_id)
    async with any_sessionmaker() as session:
        rows = (
            await session.scalars(select(EntityImage).where(EntityImage.entity_id == pet.id))
        ).all()
        assert sorted(r.state for r in rows) == sorted(rules.VISUAL_STATES)
        for row in rows:
            assert row.source == "sprite" and row.mime_type == "image/svg+xml"
            ET.fromstring(row.data)
            assert await pictures.load_image(session, row.content_hash) == (row.mime_type, row.data)
        assert await pictures.load_image(session, "0" * 64) is None


async def test_create_pet_is_idempotent_and_honours_overrides(any_sessionmaker: Maker) -> None:
    """A second call returns the same pet; name and species overrides are used."""
    pet, repo = await born(any_sessionmaker, "Python", name="Rex", species="robot")
    assert (pet.name, pet.species) == ("Rex", "robot")
    async with any_sessionmaker() as session, session.begin():
        again = await lifecycle.create_pet(session, repo, T0 + DAY)
    assert again.id == pet.id


async def test_concurrent_create_pet_yields_one_pet(pg_sessionmaker: Maker) -> None:
    """Two webhooks racing to create the pet: one row, both get it."""
    repo = await add_repository(pg_sessionmaker)

    async def create() -> int:
        async with pg_sessionmaker() as session, session.begin():
            return (await lifecycle.create_pet(session, repo, T0)).id

    ids = await asyncio.gather(create(), create(), create())
    assert len(set(ids)) == 1
    async with pg_sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Entity)) == 1


async def test_archived_repository_pet_is_frozen(any_sessionmaker: Maker) -> None:
    """Pets of archived repositories are born frozen and can be thawed."""
    pet, repo = await born(any_sessionmaker, archived=True)
    assert pet.frozen
    async with any_sessionmaker() as session, session.begin():
        thawed = await lifecycle.set_frozen(session, repo.id, False, T0 + 5 * DAY)
        assert thawed is not None and not thawed.frozen and thawed.last_decay_at == T0 + 5 * DAY


async def test_entity_dict_matches_the_contract(any_sessionmaker: Maker) -> None:
    """CONTRACTS.md's entity object, with a versioned visual URL for the current state."""
    pet, repo = await born(any_sessionmaker, "Go")
    data = shapes.entity_to_dict(pet, repo, base_url="https://tamagitto.example")
    contract = {
        "id", "name", "type", "species", "health_score", "state", "status", "generation",
        "visual_url", "repository", "last_updated", "created_at", "died_at",
    }  # fmt: skip
    assert contract <= set(data)
    assert data["type"] == "robot" and data["species"] in {"robot", "android"}
    assert (data["state"], data["status"], data["health_score"]) == ("thriving", "alive", 100)
    assert data["repository"] == {"full_name": repo.full_name, "language": "Go"}
    assert data["created_at"] == T0.isoformat() and data["died_at"] is None
    assert data["visual_url"].startswith("https://tamagitto.example/images/")
    assert data["visual_url"].endswith(".svg")
    content_hash = data["visual_url"].rsplit("/", 1)[1].split(".")[0]
    async with any_sessionmaker() as session:
        mime, body = await pictures.load_image(session, content_hash) or ("", b"")
    assert mime == "image/svg+xml" and b"thriving" in body


async def test_record_commit_moves_health_and_writes_history(any_sessionmaker: Maker) -> None:
    """A commit changes health with a commit_analysis row; owed decay is charged first."""
    pet, _ = await born(any_sessionmaker)
    at = T0 + 6 * DAY + timedelta(hours=1)
    async with any_sessionmaker() as session, session.begin():
        update = await lifecycle.record_commit(
            session, pet.id, -30, at, change_reason="tests removed"
        )
    assert (update.before.health, update.after.health) == (100, 64)
    assert await reasons(any_sessionmaker, pet.id) == [
        ("daily_decay", 94, -6),
        ("commit_analysis", 64, -30),
    ]
    (event,) = update.events
    assert event["type"] == "health_update" and event["change_reason"] == "tests removed"
    assert (event["health_score"], event["state"], event["repository_id"]) == (
        64,
        "healthy",
        pet.repository_id,
    )


async def test_commit_that_empties_the_pet_reports_dying(any_sessionmaker: Maker) -> None:
    """A disastrous commit: health 0, status dying, a status_change event."""
    pet, _ = await born(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        update = await lifecycle.record_commit(session, pet.id, -500, T0 + DAY)
    assert (update.after.health, update.after.status, update.after.zero_since) == (
        0,
        "dying",
        T0 + DAY,
    )
    kinds = {e["type"]: e for e in update.events}
    assert kinds["status_change"]["new_status"] == "dying"
    assert kinds["status_change"]["message"] == f"{pet.name} is in critical condition!"


async def test_dead_pet_takes_no_commit(any_sessionmaker: Maker) -> None:
    """A commit after death was due: the pet dies (history says so) and the commit is ignored."""
    pet, _ = await born(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        await lifecycle.record_commit(session, pet.id, -500, T0 + DAY)
    async with any_sessionmaker() as session, session.begin():
        update = await lifecycle.record_commit(session, pet.id, 20, T0 + 3 * DAY)
    assert update.after.dead and update.after.health == 0
    assert update.after.died_at == T0 + DAY + rules.DEATH_AFTER
    assert [r[0] for r in await reasons(any_sessionmaker, pet.id)] == ["commit_analysis", "death"]
    assert [e["type"] for e in update.events] == ["health_update", "status_change"]


async def test_revival_after_cooldown_is_generation_two(any_sessionmaker: Maker) -> None:
    """Before 48 h: CooldownActive with the expiry. After: "Name II" at full health."""
    pet, repo = await born(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        await lifecycle.record_commit(session, pet.id, -500, T0)
    died = T0 + rules.DEATH_AFTER
    with pytest.raises(CooldownActive) as info:
        async with any_sessionmaker() as session, session.begin():
            await lifecycle.revive_pet(
                session, pet.id, died + rules.COOLDOWN - timedelta(seconds=1)
            )
    assert info.value.expires_at == died + rules.COOLDOWN
    async with any_sessionmaker() as session, session.begin():
        second = await lifecycle.revive_pet(session, pet.id, died + rules.COOLDOWN)
    assert (second.generation, second.name, second.health) == (2, f"{pet.name} II", 100)
    assert second.species == pet.species and second.subspecies == pet.subspecies
    async with any_sessionmaker() as session:
        old = await session.get(Entity, pet.id)
        assert old is not None and not old.is_current and old.status == "dead"
        assert (await lifecycle.current_pet(session, repo.id)).id == second.id  # type: ignore[union-attr]
        data = shapes.entity_to_dict(old, repo)
        assert data["cooldown_expires"] == (died + rules.COOLDOWN).isoformat()
        assert data["visual_url"] != shapes.entity_to_dict(second, repo)["visual_url"]
    assert await reasons(any_sessionmaker, second.id) == [("revival", 100, 100)]
    async with any_sessionmaker() as session, session.begin():
        again = await lifecycle.revive_pet(session, pet.id, died + 3 * rules.COOLDOWN)
    assert again.id == second.id, "reviving a replaced pet returns the current one"


async def test_living_pet_needs_an_explicit_reset(any_sessionmaker: Maker) -> None:
    """Revival of a living pet is refused; a manual reset makes generation 2."""
    pet, _ = await born(any_sessionmaker)
    with pytest.raises(PetAlive):
        async with any_sessionmaker() as session, session.begin():
            await lifecycle.revive_pet(session, pet.id, T0 + DAY)
    async with any_sessionmaker() as session, session.begin():
        fresh = await lifecycle.revive_pet(session, pet.id, T0 + DAY, allow_living=True)
    assert fresh.generation == 2
    assert await reasons(any_sessionmaker, fresh.id) == [("manual_reset", 100, 0)]


class RecordingBus:
    """Collects published events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


async def test_decay_job_publishes_status_changes(
    pg_sessionmaker: Maker, monkeypatch: pytest.MonkeyPatch, make_settings: Any
) -> None:
    """The hourly job decays and publishes health_update and status_change with ids."""
    pet, _ = await born(pg_sessionmaker)
    async with pg_sessionmaker() as session, session.begin():
        await lifecycle.record_commit(session, pet.id, -80, T0)
    monkeypatch.setattr(jobs, "utcnow", lambda: T0 + 5 * DAY)
    bus = RecordingBus()
    ctx = JobContext(
        {
            "settings": make_settings(PUBLIC_URL="https://pets.example"),
            "sessionmaker": pg_sessionmaker,
            "bus": bus,
        }
    )
    summary = await jobs.decay_pets(ctx)
    assert summary == {"decayed": 1, "died": 0, "changes": 1}
    by_type = {e["type"]: e for e in bus.events}
    change = by_type["status_change"]
    assert (change["old_status"], change["new_status"], change["health_score"]) == (
        "alive",
        "dying",
        16,
    )
    assert change["entity_id"] == pet.id and change["repository_id"] == pet.repository_id
    update = by_type["health_update"]
    assert update["state"] == "dying" and update["visual_url"].startswith(
        "https://pets.example/images/"
    )
    assert update["change_reason"] == "daily_decay"
    assert await jobs.decay_pets(ctx) == {"decayed": 0, "died": 0, "changes": 0}


def test_cron_schedule_is_hourly() -> None:
    """One arq cron job, at one minute of every hour."""
    (job,) = jobs.cron_jobs()
    assert job.name == "decay_pets" and job.minute == jobs.DECAY_MINUTE and job.hour is None


async def test_cron_job_takes_arqs_dict(pg_sessionmaker: Maker) -> None:
    """arq calls the cron with its plain dict `ctx`; the typed job gets a `JobContext`."""
    (job,) = jobs.cron_jobs()
    ctx: dict[str, Any] = {"sessionmaker": pg_sessionmaker, "bus": RecordingBus()}
    assert await job.coroutine(ctx) == {"decayed": 0, "died": 0, "changes": 0}


class RecordingQueue:
    """Collects enqueued jobs, deduplicating by id like arq."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, tuple[Any, ...]]] = {}

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> bool:
        if job_id in self.jobs:
            return False
        self.jobs[job_id or str(len(self.jobs))] = (name, args)
        return True


async def test_after_update_publishes_and_asks_for_a_new_state_picture(
    pg_sessionmaker: Maker, make_settings: Any
) -> None:
    """A commit that shows "okay" for the first time queues one picture job for that state."""
    pet, _ = await born(pg_sessionmaker)
    bus, queue = RecordingBus(), RecordingQueue()
    ctx = {"settings": make_settings(GEMINI_API_KEY="k"), "bus": bus, "queue": queue}
    async with pg_sessionmaker() as session, session.begin():
        update = await lifecycle.record_commit(session, pet.id, -45, T0 + DAY)
    await jobs.after_update(JobContext(ctx), update)
    await jobs.after_update(JobContext(ctx), update)
    assert [e["type"] for e in bus.events] == ["health_update"] * 2
    assert queue.jobs == {f"generate_images:{pet.id}:okay": ("generate_images", (pet.id, ["okay"]))}
    no_key = {**ctx, "settings": make_settings(), "queue": RecordingQueue()}
    await jobs.after_update(JobContext(no_key), update)
    assert no_key["queue"].jobs == {}


async def test_backfill_queues_pets_never_asked_about(
    any_sessionmaker: Maker, make_settings: Any
) -> None:
    """Living pets with no picture history get a job; asked-about and dead pets do not."""
    fresh, _ = await born(any_sessionmaker)
    asked, _ = await born(any_sessionmaker)
    dead, _ = await born(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        pictures.mark_image_status(
            await lifecycle.lock_pet(session, asked.id), "thriving", "failed"
        )
        await lifecycle.record_commit(session, dead.id, -500, T0)
        await lifecycle.settle_pet(
            session, await lifecycle.lock_pet(session, dead.id), T0 + 2 * DAY
        )
    queue = RecordingQueue()
    ctx = {"settings": make_settings(GEMINI_API_KEY="k"), "sessionmaker": any_sessionmaker}
    assert await jobs.backfill_images(JobContext({**ctx, "queue": queue})) == 1
    assert list(queue.jobs.values()) == [("generate_images", (fresh.id,))]
