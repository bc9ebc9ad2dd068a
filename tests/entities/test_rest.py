"""Pets can rest: per-pet decay settings, hibernation and the hungry warning.

The pure rules first (injected times, no database), then the service and the hourly job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import EntityImage, Repository
from app.entities import decay_rules, jobs, lifecycle, pictures, rules, shapes
from app.entities.pet_rows import decay_params
from app.entities.rules import PetState
from app.infra.job_context import JobContext
from tests.entities.conftest import T0, add_repository

Maker = async_sessionmaker[AsyncSession]
DAY = timedelta(days=1)


def pet(**kw: Any) -> PetState:
    """A newborn at T0 with the given overrides."""
    return PetState(**{"health": 100, "status": "alive", "generation": 1, "born_at": T0, **kw})


# --- decay settings ---------------------------------------------------------------------------


def test_default_decay_is_the_seeds() -> None:
    """3 days of grace, then 2 a day: unchanged for pets without a `decay:` setting."""
    fresh = rules.new_pet(T0)
    assert (fresh.grace_days, fresh.decay_per_day) == (3, 2)
    assert decay_rules.settle(fresh, T0 + 3 * DAY).health == 100
    assert decay_rules.settle(fresh, T0 + 5 * DAY).health == 96


def test_own_grace_and_rate() -> None:
    """A 10-day grace at 5 a day: nothing for 10 days, then 5 for each whole day."""
    slow = rules.new_pet(T0, grace_days=10, decay_per_day=5)
    assert decay_rules.settle(slow, T0 + 10 * DAY + timedelta(hours=23)).health == 100
    assert decay_rules.settle(slow, T0 + 13 * DAY).health == 85
    assert decay_rules.days_to_zero(100, 5) == 20


def test_decay_off_never_decays_or_dies() -> None:
    """`decay: off` is a rate of 0: a year without commits changes nothing."""
    resting = rules.new_pet(T0, decay_per_day=0)
    assert not decay_rules.decays(resting)
    assert decay_rules.settle(resting, T0 + 365 * DAY) == resting


def test_new_setting_does_not_reprice_charged_days() -> None:
    """Days charged before the change stay charged; later days use the new rate."""
    decaying = decay_rules.settle(rules.new_pet(T0), T0 + 5 * DAY)  # 2 days charged: 96
    faster = rules.with_decay(decaying, 3, 10)
    assert faster.health == 96
    assert decay_rules.settle(faster, T0 + 6 * DAY).health == 86


def test_revival_keeps_the_setting() -> None:
    """A new generation decays like the one before it."""
    died = decay_rules.settle(rules.new_pet(T0, grace_days=1, decay_per_day=10), T0 + 13 * DAY)
    assert died.dead
    again = rules.revive(died, T0 + 20 * DAY)
    assert (again.generation, again.grace_days, again.decay_per_day) == (2, 1, 10)


# --- hibernation ------------------------------------------------------------------------------


def test_sleeping_pet_neither_decays_nor_dies() -> None:
    """Asleep at zero health for a month: no decay, no death clock."""
    asleep = rules.hibernate(pet(health=0, zero_since=T0), T0)
    later = decay_rules.settle(asleep, T0 + 30 * DAY)
    assert later == asleep and not later.dead and decay_rules.death_due(later) is None
    assert rules.visual_state(later) == rules.SLEEPING_VISUAL


def test_wakes_at_until_and_the_nap_is_not_charged() -> None:
    """A 20-day nap ending at `until`: decay resumes a day after waking, whenever settled."""
    asleep = rules.hibernate(rules.new_pet(T0), T0, until=T0 + 20 * DAY)
    assert decay_rules.settle(asleep, T0 + 20 * DAY - timedelta(seconds=1)).asleep
    woke = decay_rules.settle(asleep, T0 + 20 * DAY + timedelta(hours=5))
    assert not woke.asleep and woke.health == 100 and woke.last_decay_at == T0 + 20 * DAY
    assert rules.visual_state(woke) == rules.THRIVING
    two_days = T0 + 22 * DAY
    assert decay_rules.settle(asleep, two_days) == decay_rules.settle(woke, two_days)
    assert decay_rules.settle(asleep, two_days).health == 96


def test_waking_restarts_the_death_clock() -> None:
    """A pet asleep at zero gets its full 24 hours again once it wakes."""
    asleep = rules.hibernate(pet(health=0, zero_since=T0), T0 + timedelta(hours=20))
    woke = rules.wake(asleep, T0 + 10 * DAY)
    assert woke.zero_since == T0 + 10 * DAY
    assert decay_rules.death_due(woke) == T0 + 11 * DAY


def test_a_commit_wakes_the_pet() -> None:
    """The next analysed commit ends the nap and applies as usual."""
    asleep = rules.hibernate(rules.new_pet(T0), T0)
    fed = rules.apply_commit(decay_rules.settle(asleep, T0 + 40 * DAY), -5, T0 + 40 * DAY)
    assert not fed.asleep and fed.health == 95 and fed.last_commit_at == T0 + 40 * DAY


def test_until_must_be_ahead_and_within_90_days() -> None:
    """Past, now and past 90 days are refused; exactly 90 days is allowed."""
    fresh = rules.new_pet(T0)
    for bad in (T0, T0 - DAY, T0 + rules.MAX_SLEEP + timedelta(seconds=1)):
        with pytest.raises(rules.BadSleep):
            rules.hibernate(fresh, T0, until=bad)
    assert rules.hibernate(fresh, T0, until=T0 + rules.MAX_SLEEP).sleep_until == T0 + 90 * DAY


def test_dead_pets_cannot_hibernate() -> None:
    """Only the living rest."""
    with pytest.raises(rules.PetDead):
        rules.hibernate(pet(health=0, status="dead", died_at=T0), T0 + DAY)


def test_asking_again_keeps_the_start_and_takes_the_new_until() -> None:
    """A second request extends (or shortens) the nap without restarting it."""
    asleep = rules.hibernate(rules.new_pet(T0), T0, until=T0 + 5 * DAY)
    longer = rules.hibernate(asleep, T0 + DAY, until=T0 + 30 * DAY)
    assert (longer.sleeping_since, longer.sleep_until) == (T0, T0 + 30 * DAY)


def test_frozen_sleepers_wait_for_the_thaw() -> None:
    """An archived pet's nap does not end at `until` (the cron leaves frozen pets alone)."""
    frozen = rules.set_frozen(rules.hibernate(rules.new_pet(T0), T0, T0 + DAY), True, T0)
    assert rules.wake_due(frozen, T0 + 5 * DAY) == frozen


# --- hunger -----------------------------------------------------------------------------------


def test_hunger_starts_with_the_first_decay_only() -> None:
    """Hungry when the grace ends and decay first charges; not on later days, not asleep."""
    fresh = rules.new_pet(T0)
    assert not decay_rules.starts_hunger(fresh, T0 + 3 * DAY + timedelta(hours=23))
    assert decay_rules.starts_hunger(fresh, T0 + 4 * DAY)
    assert decay_rules.starts_hunger(fresh, T0 + 9 * DAY), "a late cron run still announces it"
    decaying = decay_rules.settle(fresh, T0 + 4 * DAY)
    assert not decay_rules.starts_hunger(decaying, T0 + 5 * DAY)
    fed = rules.apply_commit(decaying, 1, T0 + 5 * DAY)
    assert decay_rules.starts_hunger(fed, T0 + 9 * DAY), "hungry again after the next grace"
    assert not decay_rules.starts_hunger(rules.hibernate(fresh, T0), T0 + 9 * DAY)
    assert not decay_rules.starts_hunger(rules.new_pet(T0, decay_per_day=0), T0 + 9 * DAY)


# --- the service and the job ------------------------------------------------------------------


async def _pet(maker: Maker, config: dict[str, Any] | None = None) -> tuple[int, Repository]:
    """A repository (with a stored config) and its newborn at T0."""
    repo = await add_repository(maker)
    async with maker() as session, session.begin():
        row = await session.get(Repository, repo.id)
        assert row is not None
        row.config = config
        entity = await lifecycle.create_pet(session, row, T0)
        return entity.id, row


async def test_birth_and_commits_follow_the_stored_setting(any_sessionmaker: Maker) -> None:
    """A pet is born with the repository's `decay:`; a commit picks up a changed one."""
    entity_id, repo = await _pet(any_sessionmaker, {"grace_days": 10, "decay_per_day": 0})
    async with any_sessionmaker() as session, session.begin():
        entity = await lifecycle.lock_pet(session, entity_id)
        assert (entity.grace_days, entity.decay_per_day) == (10, 0)
        row = await session.get(Repository, repo.id)
        assert row is not None
        row.config = {"grace_days": 1, "decay_per_day": 7}
        await lifecycle.record_commit(session, entity_id, 0, T0 + DAY)
        assert (entity.grace_days, entity.decay_per_day) == (1, 7)
    assert decay_params(None) == (rules.GRACE_DAYS, rules.DECAY_PER_DAY)


async def test_hibernate_stores_the_sleeper_and_a_commit_wakes_it(any_sessionmaker: Maker) -> None:
    """Asleep: a sleeping picture (stored even for an old pet), events; a commit wakes it."""
    entity_id, _ = await _pet(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        await session.execute(  # a pet born before the sleeping picture existed
            delete(EntityImage).where(
                EntityImage.entity_id == entity_id, EntityImage.state == "sleeping"
            )
        )
    async with any_sessionmaker() as session, session.begin():
        update = await lifecycle.hibernate_pet(session, entity_id, T0 + DAY, T0 + 30 * DAY)
        assert update.after.asleep and update.visual_changed
        (event,) = update.events
        assert event["type"] == "health_update" and event["sleeping"] is True
        assert event["change_reason"] == lifecycle.REASON_ASLEEP
        repo = await session.get(Repository, update.entity.repository_id)
        assert repo is not None
        doc = shapes.entity_to_dict(update.entity, repo)
        assert doc["sleeping"] and doc["sleep_until"] == (T0 + 30 * DAY).isoformat()
        assert doc["visual_url"] == pictures.image_url(update.entity, rules.SLEEPING_VISUAL)
    async with any_sessionmaker() as session:
        states = await session.scalars(
            select(EntityImage.state).where(EntityImage.entity_id == entity_id)
        )
        assert "sleeping" in set(states)
    async with any_sessionmaker() as session, session.begin():
        woke = await lifecycle.record_commit(session, entity_id, 3, T0 + 10 * DAY)
        assert not woke.after.asleep and woke.entity.sleep_until is None
        assert woke.after.health == 100, "no decay charged for the nap"


async def test_hibernating_a_dead_pet_is_refused(any_sessionmaker: Maker) -> None:
    """A pet whose death fell due is dead, not asleep."""
    entity_id, _ = await _pet(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        await lifecycle.record_commit(session, entity_id, -100, T0)
    with pytest.raises(rules.PetDead):
        async with any_sessionmaker() as session, session.begin():
            await lifecycle.hibernate_pet(session, entity_id, T0 + 2 * DAY)


class RecordingBus:
    """Collects published events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


async def test_decay_job_says_hungry_once_and_wakes_sleepers(
    any_sessionmaker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first decay publishes "Mochi is hungry"; the next day's does not; `until` wakes."""
    hungry_id, _ = await _pet(any_sessionmaker)
    sleeper_id, _ = await _pet(any_sessionmaker)
    async with any_sessionmaker() as session, session.begin():
        await lifecycle.hibernate_pet(session, sleeper_id, T0, T0 + 4 * DAY + timedelta(hours=2))
    bus = RecordingBus()
    ctx = JobContext({"sessionmaker": any_sessionmaker, "bus": bus})

    monkeypatch.setattr(jobs, "utcnow", lambda: T0 + 4 * DAY + timedelta(hours=3))
    assert (await jobs.decay_pets(ctx))["decayed"] == 1
    (hungry,) = [e for e in bus.events if e.get("reason") == "hungry"]
    async with any_sessionmaker() as session:
        name = (await lifecycle.lock_pet(session, hungry_id)).name
        assert not (await lifecycle.lock_pet(session, sleeper_id)).sleeping_since
    assert hungry["type"] == "status_change" and hungry["entity_id"] == hungry_id
    assert hungry["message"] == f"{name} is hungry"
    assert hungry["old_status"] == hungry["new_status"] == "alive"
    (woke,) = [e for e in bus.events if e["entity_id"] == sleeper_id]
    assert woke["type"] == "health_update" and woke["sleeping"] is False

    bus.events.clear()
    monkeypatch.setattr(jobs, "utcnow", lambda: T0 + 5 * DAY + timedelta(hours=3))
    assert (await jobs.decay_pets(ctx))["decayed"] == 2, "the sleeper decays a day after waking"
    assert not [e for e in bus.events if e.get("reason") == "hungry"]
