"""Property tests for the pure rules: random commits, cron runs, freezes and clock jumps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.entities import decay_rules, rules
from app.entities.rules import CooldownActive, PetAlive, PetState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = rules.DAY

# A clock jump: anything from a microsecond to 12 days, microsecond resolution.
jumps = st.integers(min_value=0, max_value=12 * 86_400_000_000).map(
    lambda us: timedelta(microseconds=us)
)
events = st.one_of(
    st.tuples(st.just("commit"), st.integers(-40, 25)),
    st.tuples(st.just("cron"), st.just(0)),
    st.tuples(st.just("freeze"), st.just(0)),
    st.tuples(st.just("revive"), st.just(0)),
)
timelines = st.lists(st.tuples(jumps, events), max_size=40)


def check_invariants(pet: PetState, now: datetime) -> None:
    """What must hold of any pet the rules produce."""
    assert rules.MIN_HEALTH <= pet.health <= rules.MAX_HEALTH
    assert pet.status in rules.STATUSES
    if pet.dead:
        assert pet.health == 0 and pet.zero_since is not None and pet.died_at is not None
        assert pet.died_at == pet.zero_since + rules.DEATH_AFTER
        assert pet.died_at <= now
    else:
        assert pet.died_at is None
        assert pet.status == rules.status_for(pet.health)
        assert (pet.health == 0) == (pet.zero_since is not None)


def run(timeline: list[tuple[timedelta, tuple[str, int]]]) -> tuple[PetState, datetime]:
    """Play a timeline the way the service does (settle before each commit), checking as we go."""
    pet, now = rules.new_pet(T0), T0
    for jump, (kind, value) in timeline:
        now += jump
        before = decay_rules.settle(pet, now)
        if kind == "commit":
            pet = rules.apply_commit(before, value, now)
            if before.dead:
                assert pet == before, "dead pets take no change"
        elif kind == "cron":
            pet = before
        elif kind == "freeze":
            pet = rules.set_frozen(before, not before.frozen, now)
        else:
            pet = attempt_revival(before, now)
        check_invariants(pet, now)
    return pet, now


def attempt_revival(pet: PetState, now: datetime) -> PetState:
    """Revival succeeds exactly when the pet is dead and the cooldown has passed."""
    if not pet.dead:
        with pytest.raises(PetAlive):
            rules.revive(pet, now)
        return pet
    assert pet.died_at is not None
    expires = pet.died_at + rules.COOLDOWN
    if now < expires:
        with pytest.raises(CooldownActive) as info:
            rules.revive(pet, now)
        assert info.value.expires_at == expires == rules.cooldown_expires(pet)
        return pet
    born = rules.revive(pet, now)
    assert (born.health, born.status, born.generation) == (100, "alive", pet.generation + 1)
    assert born.born_at == now and born.died_at is None
    return born


@settings(max_examples=400, deadline=None)
@given(timelines)
def test_invariants_hold_over_any_timeline(
    timeline: list[tuple[timedelta, tuple[str, int]]],
) -> None:
    """Health within 0–100, status consistent, death exactly 24 h after zero, revival gated."""
    run(timeline)


@settings(max_examples=300, deadline=None)
@given(timelines, st.lists(jumps, max_size=30))
def test_extra_cron_runs_never_change_the_outcome(
    timeline: list[tuple[timedelta, tuple[str, int]]], cron_offsets: list[timedelta]
) -> None:
    """However often (or rarely) the cron runs, the pet ends up the same: missed runs catch up."""
    sparse, end = run([(j, e) for j, e in timeline if e[0] != "cron"])
    sparse = decay_rules.settle(sparse, end)
    dense = [(j, e) for j, e in timeline if e[0] != "cron"]
    for offset in cron_offsets:
        dense.append((offset, ("cron", 0)))
    # Cron events after the last real event only move the end; settle both at the same end.
    merged = sorted_timeline(dense)
    pet, merged_end = run(merged)
    later = max(end, merged_end)
    assert decay_rules.settle(pet, later) == decay_rules.settle(sparse, later)


def sorted_timeline(
    timeline: list[tuple[timedelta, tuple[str, int]]],
) -> list[tuple[timedelta, tuple[str, int]]]:
    """Interleave: real events keep their absolute times, crons land at their own offsets."""
    absolute, t = [], timedelta(0)
    for jump, event in timeline:
        if event[0] == "cron":
            absolute.append((jump * 3, 1, event))
        else:
            t += jump
            absolute.append((t, 0, event))
    absolute.sort(key=lambda x: (x[0], x[1]))
    out, previous = [], timedelta(0)
    for at, _, event in absolute:
        out.append((at - previous, event))
        previous = at
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 100), jumps, jumps, jumps)
def test_decay_charges_each_day_once(
    health: int, idle: timedelta, a: timedelta, b: timedelta
) -> None:
    """Split runs equal one run; repeating a run charges nothing; at most one step per day."""
    pet = replace(rules.new_pet(T0), health=health, status=rules.status_for(health))
    t1 = T0 + idle + a
    t2 = t1 + b
    once = decay_rules.apply_decay(pet, t2)
    split = decay_rules.apply_decay(decay_rules.apply_decay(pet, t1), t2)
    assert split == once
    assert decay_rules.apply_decay(once, t2) == once
    mid = decay_rules.apply_decay(pet, t1)
    days_between = (t2 - t1) // DAY
    assert mid.health - once.health <= rules.DECAY_PER_DAY * (days_between + 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200 * 86_400_000_000))
def test_untouched_pet_follows_the_formula(us: int) -> None:
    """No commits: full health through the grace period, then −2 for each whole day after it."""
    now = T0 + timedelta(microseconds=us)
    days = (now - T0) // DAY
    expected = max(0, 100 - rules.DECAY_PER_DAY * max(0, days - rules.GRACE_DAYS))
    assert decay_rules.apply_decay(rules.new_pet(T0), now).health == expected


def test_grace_period_and_first_decay_boundaries() -> None:
    """Day 3 without commits costs nothing; the first −2 lands exactly at 4 × 24 h."""
    pet = rules.new_pet(T0)
    edge = T0 + (rules.GRACE_DAYS + 1) * DAY
    assert decay_rules.apply_decay(pet, edge - timedelta(microseconds=1)) == pet
    first = decay_rules.apply_decay(pet, edge)
    assert (first.health, first.last_decay_at) == (98, edge)


def test_commit_restarts_the_decay_clock_and_resets_the_checkpoint() -> None:
    """A commit gives a fresh grace period even after days of decay."""
    pet = decay_rules.apply_decay(rules.new_pet(T0), T0 + 10 * DAY)
    assert pet.health == 100 - 2 * 7
    committed = rules.apply_commit(pet, 5, T0 + 10 * DAY)
    assert decay_rules.apply_decay(committed, T0 + 13 * DAY + timedelta(hours=23)) == committed
    assert decay_rules.apply_decay(committed, T0 + 14 * DAY).health == committed.health - 2


def test_out_of_order_commit_does_not_move_the_clock_back() -> None:
    """An older commit analysed late keeps the newest commit time."""
    pet = rules.apply_commit(rules.new_pet(T0), 1, T0 + 5 * DAY)
    late = rules.apply_commit(pet, 1, T0 + 2 * DAY)
    assert late.last_commit_at == T0 + 5 * DAY


def test_death_exactly_after_24_hours_at_zero_and_not_before() -> None:
    """Zero by a bad commit: dying at once, dead 24 h later, not a microsecond sooner."""
    at = T0 + DAY
    pet = rules.apply_commit(rules.new_pet(T0), -150, at)
    assert (pet.health, pet.status, pet.zero_since) == (0, "dying", at)
    assert decay_rules.apply_death(pet, at + rules.DEATH_AFTER - timedelta(microseconds=1)) == pet
    dead = decay_rules.apply_death(pet, at + rules.DEATH_AFTER + timedelta(hours=5))
    assert (dead.status, dead.died_at) == ("dead", at + rules.DEATH_AFTER)


def test_a_commit_above_zero_stops_the_death_clock() -> None:
    """Any health above zero clears zero_since, and the next zero starts a new clock."""
    pet = rules.apply_commit(rules.new_pet(T0), -100, T0)
    saved = rules.apply_commit(pet, 3, T0 + timedelta(hours=23))
    assert saved.zero_since is None and saved.status == "dying"
    again = rules.apply_commit(saved, -10, T0 + timedelta(hours=30))
    assert again.zero_since == T0 + timedelta(hours=30)


def test_dead_pets_take_no_change() -> None:
    """Commits, decay and death leave a dead pet exactly as it was."""
    dead = decay_rules.settle(rules.apply_commit(rules.new_pet(T0), -100, T0), T0 + 2 * DAY)
    assert dead.dead
    assert rules.apply_commit(dead, 50, T0 + 3 * DAY) == dead
    assert decay_rules.settle(dead, T0 + 30 * DAY) == dead


def test_cooldown_is_48_hours_from_death() -> None:
    """Reviving before the cooldown names the expiry; after it, a new generation is born."""
    dead = decay_rules.settle(rules.apply_commit(rules.new_pet(T0), -100, T0), T0 + 2 * DAY)
    assert dead.died_at == T0 + rules.DEATH_AFTER
    expires = T0 + rules.DEATH_AFTER + rules.COOLDOWN
    with pytest.raises(CooldownActive) as info:
        rules.revive(dead, expires - timedelta(microseconds=1))
    assert info.value.expires_at == expires
    born = rules.revive(dead, expires)
    assert (born.generation, born.health, born.status) == (2, 100, "alive")


def test_frozen_pets_neither_decay_nor_die_and_thaw_without_backlog() -> None:
    """Archived for a month: nothing charged while frozen, nor for the frozen time afterwards."""
    pet = rules.apply_commit(rules.new_pet(T0), -100, T0)
    frozen = rules.set_frozen(pet, True, T0 + timedelta(hours=1))
    assert decay_rules.settle(frozen, T0 + 30 * DAY) == frozen
    thawed = rules.set_frozen(frozen, False, T0 + 30 * DAY)
    assert thawed.zero_since == T0 + 30 * DAY
    assert not decay_rules.settle(thawed, T0 + 30 * DAY + timedelta(hours=23)).dead
    healthy = rules.set_frozen(rules.new_pet(T0), True, T0)
    back = rules.set_frozen(healthy, False, T0 + 30 * DAY)
    assert decay_rules.apply_decay(back, T0 + 31 * DAY - timedelta(microseconds=1)) == back
    assert decay_rules.apply_decay(back, T0 + 31 * DAY).health == 98


@pytest.mark.parametrize(
    ("health", "state"),
    [(100, "thriving"), (80, "thriving"), (79, "healthy"), (60, "healthy"), (59, "okay"),
     (40, "okay"), (39, "poor"), (20, "poor"), (19, "dying"), (0, "dying")],
)  # fmt: skip
def test_health_states(health: int, state: str) -> None:
    """The issue's thresholds: thriving ≥ 80, healthy ≥ 60, okay ≥ 40, poor ≥ 20, dying below."""
    assert rules.health_state(health) == state


def test_reset_of_a_living_pet_is_a_new_generation() -> None:
    """A manual reset needs no cooldown for a living pet, but a dead one still waits."""
    pet = rules.apply_commit(rules.new_pet(T0), -30, T0)
    assert rules.reset(pet, T0 + DAY) == rules.new_pet(T0 + DAY, generation=2)
    dead = decay_rules.settle(rules.apply_commit(pet, -100, T0), T0 + 2 * DAY)
    with pytest.raises(CooldownActive):
        rules.reset(dead, T0 + 2 * DAY)


def test_freezing_a_dead_pet_keeps_its_death() -> None:
    """Archiving and unarchiving a dead pet's repository leaves the time of death alone."""
    dead = decay_rules.settle(rules.apply_commit(rules.new_pet(T0), -100, T0), T0 + 2 * DAY)
    thawed = rules.set_frozen(rules.set_frozen(dead, True, T0 + 3 * DAY), False, T0 + 9 * DAY)
    assert thawed == dead


@pytest.mark.parametrize(
    ("health", "delta", "applied"),
    [
        (50, 10, 10),  # below the thriving band: gains apply in full
        (79, 15, 15),  # the band starts at THRIVING_AT
        (80, 10, 10),  # 10 × 20/20
        (90, 10, 5),  # 10 × 10/20
        (95, 4, 1),  # 4 × 5/20 = 1
        (97, 4, 1),  # 4 × 3/20 truncates to 0, but a good commit still moves it
        (99, 20, 1),  # the last point is hard to earn
        (100, 7, 0),  # at the top nothing is left to gain
        (95, -10, -10),  # losses always apply in full
        (40, 0, 0),
    ],
)
def test_gains_shrink_inside_the_thriving_band(health: int, delta: int, applied: int) -> None:
    assert rules.applied_gain(health, delta) == applied
    pet = replace(rules.new_pet(T0), health=health)
    assert rules.apply_commit(pet, delta, T0 + DAY).health == health + applied
