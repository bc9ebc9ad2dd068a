"""The set-based decay and death SQL, on the real PostgreSQL (and SQLite), against the rules."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Entity, HealthHistory, Repository
from app.entities import decay_rules, lifecycle, rules
from app.entities.cron import CronResult, id_ranges, run_cron
from app.entities.lifecycle import create_pet
from app.entities.pet_rows import pet_state, write_state
from app.entities.rules import PetState
from tests.entities.conftest import T0, add_repository

Maker = async_sessionmaker[AsyncSession]
DAY = timedelta(days=1)


def simulated_pet(rng: random.Random, now: datetime, resting: bool = False) -> PetState:
    """A pet in a state the rules can reach: random commits and settles before `now`.

    `resting` adds a random `decay:` setting (off included) and naps, some ending before
    `now`, some after, some only at the next commit.
    """
    t = now - timedelta(microseconds=rng.randrange(0, 70 * 86_400_000_000))
    pet = rules.new_pet(t, generation=rng.randint(1, 3))
    if resting:
        pet = rules.with_decay(pet, rng.choice((1, 2, 3, 7, 60)), rng.choice((0, 1, 2, 3, 10)))
    for _ in range(rng.randint(0, 10)):
        t += timedelta(microseconds=rng.randrange(0, 12 * 86_400_000_000))
        if t >= now:
            break
        pet = decay_rules.settle(pet, t)
        if rng.random() < 0.6:
            pet = rules.apply_commit(pet, rng.randint(-60, 25), t)
        if rng.random() < 0.05:
            pet = rules.set_frozen(pet, not pet.frozen, t)
        if resting and not pet.dead and rng.random() < 0.3:
            pet = rules.hibernate(pet, t, nap_end(rng, t))
        elif resting and rng.random() < 0.1:
            pet = rules.wake(pet, t)
    return pet


def nap_end(rng: random.Random, t: datetime) -> datetime | None:
    """None (until the next commit) or up to 20 days ahead."""
    if rng.random() < 0.3:
        return None
    return t + timedelta(microseconds=rng.randrange(1, 20 * 86_400_000_000))


async def insert_pets(maker: Maker, states: list[PetState], at: datetime) -> list[int]:
    """One repository and one current entity per state, written through the ORM."""
    async with maker() as session, session.begin():
        repos = [
            Repository(github_id=5_000_000 + i, full_name=f"o/r{i}", owner_login="o")
            for i in range(len(states))
        ]
        session.add_all(repos)
        await session.flush()
        entities = []
        for repo, pet in zip(repos, states, strict=True):
            entity = Entity(
                repository_id=repo.id,
                generation=pet.generation,
                name=f"Pet{repo.id}",
                species="blob",
                born_at=pet.born_at,
                metadata_json={},
            )
            write_state(entity, pet, at)
            entities.append(entity)
        session.add_all(entities)
        await session.flush()
        return [e.id for e in entities]


async def load_states(maker: Maker, ids: list[int]) -> dict[int, PetState]:
    """The rules' view of every given row."""
    async with maker() as session:
        rows = (await session.scalars(select(Entity).where(Entity.id.in_(ids)))).all()
        return {e.id: pet_state(e) for e in rows}


async def history(maker: Maker) -> list[HealthHistory]:
    """Every history row, oldest first."""
    async with maker() as session:
        return list((await session.scalars(select(HealthHistory).order_by(HealthHistory.id))).all())


async def test_sql_matches_the_rules_for_reachable_pets(any_sessionmaker: Maker) -> None:
    """Hundreds of random reachable pets: the SQL leaves each exactly as `decay_rules.settle`
    does."""
    rng = random.Random(20260301)
    now = T0 + timedelta(days=90, microseconds=123_457)
    states = [simulated_pet(rng, now) for _ in range(400)]
    ids = await insert_pets(any_sessionmaker, states, now - DAY)
    expected = {i: decay_rules.settle(s, now) for i, s in zip(ids, states, strict=True)}
    assert sum(e != s for e, s in zip(expected.values(), states, strict=True)) > 100

    result = await run_cron(any_sessionmaker, now)

    assert await load_states(any_sessionmaker, ids) == expected
    decayed = [i for i, s in zip(ids, states, strict=True) if expected[i].health != s.health]
    died = [i for i, s in zip(ids, states, strict=True) if expected[i].dead and not s.dead]
    assert (result.decayed, result.died) == (len(decayed), len(died))
    assert died, "the sample should include deaths"
    rows = await history(any_sessionmaker)
    decay_rows = {r.entity_id: r for r in rows if r.reason == rules.REASON_DECAY}
    death_rows = {r.entity_id: r for r in rows if r.reason == rules.REASON_DEATH}
    assert sorted(decay_rows) == sorted(decayed) and sorted(death_rows) == sorted(died)
    before = dict(zip(ids, states, strict=True))
    for i, row in decay_rows.items():
        assert (row.health_score, row.delta) == (
            expected[i].health,
            expected[i].health - before[i].health,
        )
        assert row.recorded_at == now
    for i, row in death_rows.items():
        assert row.recorded_at == expected[i].died_at and row.health_score == 0


async def test_sql_follows_each_pets_decay_setting_and_naps(any_sessionmaker: Maker) -> None:
    """Random `decay:` settings and naps: the SQL wakes, decays and kills exactly as
    `decay_rules.settle`, at each pet's own rate, and reports the hungry and the woken."""
    rng = random.Random(20261201)
    now = T0 + timedelta(days=90, microseconds=654_321)
    states = [simulated_pet(rng, now, resting=True) for _ in range(400)]
    ids = await insert_pets(any_sessionmaker, states, now - DAY)
    before = dict(zip(ids, states, strict=True))
    expected = {i: decay_rules.settle(s, now) for i, s in before.items()}
    hungry = {
        i for i, s in before.items() if decay_rules.starts_hunger(rules.wake_due(s, now), now)
    }
    woken = {i for i, s in before.items() if s.asleep and not expected[i].asleep}
    still_asleep = {i for i, s in before.items() if s.asleep and expected[i].asleep}
    assert hungry and woken and still_asleep, "the sample should reach every case"
    assert {s.decay_per_day for s in states} >= {0, 10}

    result = await run_cron(any_sessionmaker, now)

    assert await load_states(any_sessionmaker, ids) == expected
    by_id = {c.entity_id: c for c in result.changes}
    assert {i for i, c in by_id.items() if c.hungry} == hungry
    assert {i for i, c in by_id.items() if c.old_visual == rules.SLEEPING_VISUAL} == woken
    assert all(by_id[i].visual == rules.visual_state(expected[i]) for i in by_id)
    decayed = {i for i in ids if expected[i].health != before[i].health}
    assert result.decayed == len(decayed)
    rows = [r for r in await history(any_sessionmaker) if r.reason == rules.REASON_DECAY]
    assert {r.entity_id: r.delta for r in rows} == {
        i: expected[i].health - before[i].health for i in decayed
    }


async def test_changes_report_state_and_status_transitions(any_sessionmaker: Maker) -> None:
    """Only pets whose picture or status changed, or that got hungry, come back."""
    now = T0 + timedelta(days=30)
    grace_end = now - timedelta(days=rules.GRACE_DAYS) - DAY  # exactly one day owed
    # Decaying for a day already: charged again, but not hungry again and no new picture.
    keep = rules.PetState(
        health=90, status="alive", generation=1, born_at=grace_end - DAY, last_decay_at=now - DAY
    )
    cross = rules.PetState(health=81, status="alive", generation=1, born_at=grace_end)
    dying = rules.PetState(health=21, status="alive", generation=1, born_at=grace_end)
    ids = await insert_pets(any_sessionmaker, [keep, cross, dying], now - DAY)

    result = await run_cron(any_sessionmaker, now)

    assert result.decayed == 3
    by_id = {c.entity_id: c for c in result.changes}
    assert set(by_id) == {ids[1], ids[2]}
    assert (by_id[ids[1]].old_visual, by_id[ids[1]].visual) == ("thriving", "healthy")
    assert not by_id[ids[1]].status_changed
    assert by_id[ids[1]].hungry and by_id[ids[2]].hungry, "their first decay: hungry"
    assert (by_id[ids[2]].old_status, by_id[ids[2]].status, by_id[ids[2]].health) == (
        "alive",
        "dying",
        19,
    )


async def test_second_run_changes_nothing(pg_sessionmaker: Maker) -> None:
    """Running twice at the same moment (or a bit later the same day) decays once."""
    repo = await add_repository(pg_sessionmaker)
    async with pg_sessionmaker() as session, session.begin():
        pet = await create_pet(session, repo, T0)
    now = T0 + timedelta(days=5, hours=1)
    first = await run_cron(pg_sessionmaker, now)
    second = await run_cron(pg_sessionmaker, now)
    third = await run_cron(pg_sessionmaker, now + timedelta(hours=22))
    assert (first.decayed, second.decayed, third.decayed) == (1, 0, 0)
    state = (await load_states(pg_sessionmaker, [pet.id]))[pet.id]
    assert state.health == 100 - 2 * rules.DECAY_PER_DAY
    assert [(r.reason, r.delta) for r in await history(pg_sessionmaker)] == [("daily_decay", -4)]


async def test_concurrent_runs_decay_each_pet_once(pg_sessionmaker: Maker) -> None:
    """Four runs at once over 3,000 due pets: every pet decays once, one history row each."""
    now = T0 + timedelta(days=10)
    born = now - timedelta(days=rules.GRACE_DAYS + 2, hours=3)
    states = [rules.new_pet(born) for _ in range(3000)]
    ids = await insert_pets(pg_sessionmaker, states, born)

    results = await asyncio.gather(*(run_cron(pg_sessionmaker, now) for _ in range(4)))

    assert sum(r.decayed for r in results) == 3000
    after = await load_states(pg_sessionmaker, ids)
    assert {s.health for s in after.values()} == {96}
    async with pg_sessionmaker() as session:
        per_pet = await session.execute(
            select(HealthHistory.entity_id, func.count()).group_by(HealthHistory.entity_id)
        )
        assert {n for _, n in per_pet.all()} == {1}


async def test_commit_racing_the_cron_is_never_charged_twice(pg_sessionmaker: Maker) -> None:
    """A commit transaction settles a pet while the cron's statement is already running.

    The cron read the pet before the commit; it must wait, notice the row changed, and leave
    it alone (the commit already charged the decay), rather than charge the same days again.
    """
    now = T0 + timedelta(days=10)
    born = now - timedelta(days=rules.GRACE_DAYS + 2)
    ids = await insert_pets(pg_sessionmaker, [rules.new_pet(born), rules.new_pet(born)], born)
    async with pg_sessionmaker() as holder, holder.begin():
        update = await lifecycle.record_commit(holder, ids[0], -10, now - timedelta(minutes=1))
        assert update.after.health == 98 - 10
        cron_task = asyncio.create_task(run_cron(pg_sessionmaker, now, partitions=1))
        await asyncio.sleep(0.5)
        assert not cron_task.done(), "the cron waits for the row the commit holds"
    result = await asyncio.wait_for(cron_task, timeout=10)
    assert result.decayed == 1
    after = await load_states(pg_sessionmaker, ids)
    assert (after[ids[0]].health, after[ids[1]].health) == (88, 96)
    assert await run_cron(pg_sessionmaker, now + timedelta(hours=1)) == CronResult()
    reasons = [(r.entity_id, r.reason) for r in await history(pg_sessionmaker)]
    assert sorted(reasons) == sorted(
        [(ids[0], "daily_decay"), (ids[0], "commit_analysis"), (ids[1], "daily_decay")]
    )


def test_id_ranges_cover_everything_once() -> None:
    """Partitions are contiguous, disjoint and cover [low, high], whatever the sizes."""
    for low, high, parts in ((1, 10, 3), (5, 5, 4), (1, 1_000_000, 2), (7, 8, 16)):
        ranges = id_ranges(low, high, parts)
        assert len(ranges) <= parts and ranges[0][0] == low and ranges[-1][1] == high
        assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))


async def test_partitioned_runs_match_a_single_transaction(pg_sessionmaker: Maker) -> None:
    """Four parallel partitions leave the pets exactly as the rules say, with no gaps."""
    rng = random.Random(7)
    now = T0 + timedelta(days=60)
    states = [simulated_pet(rng, now) for _ in range(500)]
    ids = await insert_pets(pg_sessionmaker, states, now - DAY)
    result = await run_cron(pg_sessionmaker, now, partitions=4)
    expected = {i: decay_rules.settle(s, now) for i, s in zip(ids, states, strict=True)}
    assert await load_states(pg_sessionmaker, ids) == expected
    assert result.decayed == sum(
        expected[i].health != s.health for i, s in zip(ids, states, strict=True)
    )


async def test_missed_runs_catch_up_to_the_same_result(any_sessionmaker: Maker) -> None:
    """Hourly runs for 12 days and one run at the end leave twin pets identical."""
    born = T0
    ids = await insert_pets(any_sessionmaker, [rules.new_pet(born), rules.new_pet(born)], born)
    async with any_sessionmaker() as session, session.begin():
        await session.execute(
            Entity.__table__.update().where(Entity.id == ids[1]).values(frozen=True)
        )
    for hour in range(0, 12 * 24, 5):
        await run_cron(any_sessionmaker, born + timedelta(hours=hour, minutes=7))
    async with any_sessionmaker() as session, session.begin():
        await session.execute(
            Entity.__table__.update().where(Entity.id == ids[1]).values(frozen=False)
        )
    end = born + timedelta(days=12, minutes=7)
    await run_cron(any_sessionmaker, end)
    hourly, once = (await load_states(any_sessionmaker, ids)).values()
    assert hourly.health == once.health == 100 - 9 * rules.DECAY_PER_DAY
    assert hourly.last_decay_at == once.last_decay_at == born + 12 * DAY


async def test_frozen_dead_and_old_generations_are_left_alone(any_sessionmaker: Maker) -> None:
    """Archived/suspended, dead and non-current pets never decay or die."""
    now = T0 + timedelta(days=40)
    frozen = rules.PetState(health=50, status="alive", generation=1, born_at=T0, frozen=True)
    dead = rules.PetState(
        health=0, status="dead", generation=1, born_at=T0, zero_since=T0 + DAY, died_at=T0 + 2 * DAY
    )
    zero_frozen = rules.PetState(
        health=0, status="dying", generation=1, born_at=T0, zero_since=T0, frozen=True
    )
    old_gen = rules.new_pet(T0)
    ids = await insert_pets(any_sessionmaker, [frozen, dead, zero_frozen, old_gen], T0)
    async with any_sessionmaker() as session, session.begin():
        await session.execute(
            Entity.__table__.update().where(Entity.id == ids[3]).values(is_current=False)
        )
    result = await run_cron(any_sessionmaker, now)
    assert (result.decayed, result.died, result.changes) == (0, 0, [])
    after = await load_states(any_sessionmaker, ids)
    assert [after[i] for i in ids[:3]] == [frozen, dead, zero_frozen]
    assert await history(any_sessionmaker) == []


async def test_decay_to_zero_and_death_in_one_catch_up(any_sessionmaker: Maker) -> None:
    """A long-missed cron decays to zero and kills at the exact moment the rules say."""
    pet = rules.PetState(health=6, status="dying", generation=2, born_at=T0)
    (pid,) = await insert_pets(any_sessionmaker, [pet], T0)
    now = T0 + timedelta(days=rules.GRACE_DAYS + 10)
    result = await run_cron(any_sessionmaker, now)
    zero_at = T0 + timedelta(days=rules.GRACE_DAYS + 3)
    after = (await load_states(any_sessionmaker, [pid]))[pid]
    assert after == decay_rules.settle(pet, now)
    assert (after.status, after.zero_since, after.died_at) == (
        "dead",
        zero_at,
        zero_at + rules.DEATH_AFTER,
    )
    (change,) = result.changes
    assert (change.old_status, change.status, change.old_health, change.health) == (
        "dying",
        "dead",
        6,
        0,
    )
    assert [r.reason for r in await history(any_sessionmaker)] == ["daily_decay", "death"]


async def test_death_waits_for_a_full_day_at_zero(any_sessionmaker: Maker) -> None:
    """At zero for 23h59m: alive (dying); at 24h: dead, died_at = zero_since + 24h."""
    zero = T0 + timedelta(days=1)
    pet = rules.PetState(
        health=0, status="dying", generation=1, born_at=T0, last_commit_at=zero, zero_since=zero
    )
    (pid,) = await insert_pets(any_sessionmaker, [pet], zero)
    early = await run_cron(any_sessionmaker, zero + rules.DEATH_AFTER - timedelta(microseconds=1))
    assert early.died == 0
    on_time = await run_cron(any_sessionmaker, zero + rules.DEATH_AFTER)
    assert on_time.died == 1
    after = (await load_states(any_sessionmaker, [pid]))[pid]
    assert (after.status, after.died_at) == ("dead", zero + rules.DEATH_AFTER)
