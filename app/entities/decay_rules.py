"""The pet's decay and death clocks as pure rules: what the hourly cron charges and when.

These are the rules the set-based SQL in `decay_sql.py` mirrors line for line (wake, decay,
death, in `settle`'s order), and the tests check that both give the same pets. Like `rules.py`,
every function takes the pet and an injected time and returns a new `PetState`.

* The decay clock starts at the last commit (or birth). After `grace_days` full days without a
  commit, each further full day costs `decay_per_day` health.
* `last_decay_at` is a checkpoint on that day grid: the end of the last day already charged.
  Charging only whole days past the checkpoint makes decay at most once per day, idempotent
  (running twice charges nothing twice) and self-catching-up (a missed run charges every
  missed day at the next run, and the result does not depend on when the cron ran).
* `zero_since` is the moment health reached zero (on the grid when decay did it). Death comes
  `DEATH_AFTER` later, and `died_at` is that exact moment, again independent of cron timing.
* The first decay after the grace period is the pet getting hungry (`starts_hunger`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

from app.entities import rules
from app.entities.rules import PetState


def grace_end(pet: PetState) -> datetime:
    """When decay may start: `grace_days` after the last commit (or birth)."""
    return (pet.last_commit_at or pet.born_at) + pet.grace_days * rules.DAY


def decay_base(pet: PetState) -> datetime:
    """End of the last day already charged: the later of the grace end and the checkpoint."""
    end = grace_end(pet)
    if pet.last_decay_at is None:
        return end
    return max(end, pet.last_decay_at)


def days_owed(pet: PetState, now: datetime) -> int:
    """Whole days past the checkpoint: the number of decay steps due at `now`."""
    base = decay_base(pet)
    if now < base:
        return 0
    return (now - base) // rules.DAY


def decays(pet: PetState) -> bool:
    """Frozen (archived or suspended), hibernating, dead, already-zero pets and pets with
    `decay: off` have nothing to decay."""
    return not (
        pet.dead
        or pet.frozen
        or pet.asleep
        or pet.decay_per_day <= 0
        or pet.health <= rules.MIN_HEALTH
    )


def apply_decay(pet: PetState, now: datetime) -> PetState:
    """Charge every whole day owed since the checkpoint, then move the checkpoint.

    Idempotent at a given `now`, and `apply_decay(apply_decay(p, t1), t2) == apply_decay(p, t2)`
    for t1 ≤ t2, which is what makes missed or repeated cron runs harmless.
    """
    if not decays(pet):
        return pet
    # Days past the point of reaching zero charge nothing, so the checkpoint stops there too:
    # that keeps the result independent of how often the cron ran.
    days = min(days_owed(pet, now), days_to_zero(pet.health, pet.decay_per_day))
    if days < 1:
        return pet
    base = decay_base(pet)
    checkpoint = base + days * rules.DAY
    # When decay empties the pet, the death clock starts on the grid day it reached zero.
    decayed = rules.with_health(pet, pet.health - pet.decay_per_day * days, checkpoint)
    return replace(decayed, last_decay_at=checkpoint)


def starts_hunger(pet: PetState, now: datetime) -> bool:
    """Does `apply_decay(pet, now)` charge the first day after the grace period?

    That is the moment people are told "Mochi is hungry": decay has begun and a commit
    would stop it. Later days of the same hungry spell are not announced again.
    """
    if apply_decay(pet, now).health == pet.health:
        return False
    return pet.last_decay_at is None or pet.last_decay_at <= grace_end(pet)


def days_to_zero(health: int, per_day: int = rules.DECAY_PER_DAY) -> int:
    """Decay steps until a pet with this health reaches zero."""
    return math.ceil(health / per_day)


def death_due(pet: PetState) -> datetime | None:
    """When the pet dies if nothing changes: `DEATH_AFTER` after reaching zero."""
    if (
        pet.dead
        or pet.frozen
        or pet.asleep
        or pet.health > rules.MIN_HEALTH
        or pet.zero_since is None
    ):
        return None
    return pet.zero_since + rules.DEATH_AFTER


def apply_death(pet: PetState, now: datetime) -> PetState:
    """A pet at zero for `DEATH_AFTER` dies at exactly that moment (not at the cron's time)."""
    due = death_due(pet)
    if due is None or now < due:
        return pet
    return replace(pet, status=rules.DEAD, died_at=due)


def settle(pet: PetState, now: datetime) -> PetState:
    """Bring a pet up to `now`: a wake that is due, decay owed, then a death that is due.

    The cron does exactly this, in this order.
    """
    return apply_death(apply_decay(rules.wake_due(pet, now), now), now)


__all__ = [
    "apply_death",
    "apply_decay",
    "days_owed",
    "days_to_zero",
    "death_due",
    "decay_base",
    "decays",
    "grace_end",
    "settle",
    "starts_hunger",
]
