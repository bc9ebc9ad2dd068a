"""The pet's life as pure rules: health states, decay, death and revival.

Every function here takes the pet and an injected time and returns a new `PetState`; nothing
reads a clock or touches the database. The hourly cron (`cron.py`, as set-based SQL), the commit
path and `tamagitto replay` all follow these same rules, so the SQL in `cron.py` mirrors
`apply_decay` and `apply_death` line for line and the tests check that they agree.

Time model
----------
* The decay clock starts at the last commit (or birth). After `GRACE_DAYS` full days without a
  commit, each further full day costs `DECAY_PER_DAY` health.
* `last_decay_at` is a checkpoint on that day grid: the end of the last day already charged.
  Charging only whole days past the checkpoint makes decay at most once per day, idempotent
  (running twice charges nothing twice) and self-catching-up (a missed run charges every
  missed day at the next run, and the result does not depend on when the cron ran).
* `zero_since` is the moment health reached zero (on the grid when decay did it). Death comes
  `DEATH_AFTER` later, and `died_at` is that exact moment, again independent of cron timing.
* Dead pets take no health changes. Revival starts a new generation after `COOLDOWN`.
* A commit's gain shrinks inside the thriving band (`applied_gain`); losses apply in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

MAX_HEALTH: Final = 100
MIN_HEALTH: Final = 0

THRIVING_AT: Final = 80
HEALTHY_AT: Final = 60
OKAY_AT: Final = 40
POOR_AT: Final = 20

DECAY_PER_DAY: Final = 2
GRACE_DAYS: Final = 3
DAY: Final = timedelta(days=1)
DEATH_AFTER: Final = timedelta(hours=24)
COOLDOWN: Final = timedelta(hours=48)

ALIVE: Final = "alive"
DYING: Final = "dying"
DEAD: Final = "dead"
STATUSES: Final = (ALIVE, DYING, DEAD)

THRIVING: Final = "thriving"
HEALTHY: Final = "healthy"
OKAY: Final = "okay"
POOR: Final = "poor"
STATE_DYING: Final = "dying"
HEALTH_STATES: Final = (THRIVING, HEALTHY, OKAY, POOR, STATE_DYING)
# The picture shown for a dead pet; not a health state, but it has its own image row.
DEAD_VISUAL: Final = "dead"
VISUAL_STATES: Final = (*HEALTH_STATES, DEAD_VISUAL)

REASON_COMMIT: Final = "commit_analysis"
REASON_DECAY: Final = "daily_decay"
REASON_DEATH: Final = "death"
REASON_REVIVAL: Final = "revival"
REASON_MANUAL_RESET: Final = "manual_reset"
REASONS: Final = (REASON_COMMIT, REASON_DECAY, REASON_DEATH, REASON_REVIVAL, REASON_MANUAL_RESET)


class CooldownActive(Exception):
    """A dead pet cannot be revived yet; `expires_at` says when it can."""

    def __init__(self, expires_at: datetime) -> None:
        self.expires_at = expires_at
        super().__init__(f"cooldown active until {expires_at.isoformat()}")


class PetAlive(Exception):
    """Revival needs a dead pet; resetting a living one is a separate, explicit choice."""


@dataclass(frozen=True, slots=True)
class PetState:
    """The part of a pet the rules read and write; mirrors the `entities` columns."""

    health: int
    status: str
    generation: int
    born_at: datetime
    last_commit_at: datetime | None = None
    last_decay_at: datetime | None = None
    zero_since: datetime | None = None
    died_at: datetime | None = None
    frozen: bool = False

    @property
    def dead(self) -> bool:
        """Dead pets are final for their generation."""
        return self.status == DEAD

    @property
    def state(self) -> str:
        """The health state (thriving … dying) that picks the picture."""
        return health_state(self.health)


def clamp_health(health: int) -> int:
    """Keep health inside the CHECK constraint's 0..100 whatever the deltas were."""
    return max(MIN_HEALTH, min(MAX_HEALTH, health))


def health_state(health: int) -> str:
    """Thriving ≥ 80, healthy ≥ 60, okay ≥ 40, poor ≥ 20, dying below."""
    if health >= THRIVING_AT:
        return THRIVING
    if health >= HEALTHY_AT:
        return HEALTHY
    if health >= OKAY_AT:
        return OKAY
    if health >= POOR_AT:
        return POOR
    return STATE_DYING


def status_for(health: int, dead: bool = False) -> str:
    """Dead is final; otherwise a pet in the dying health state is `dying`, else `alive`.

    `dying` starts below `POOR_AT` rather than at zero so people get a warning (and a
    `status_change` event) days before the 24-hour death clock starts.
    """
    if dead:
        return DEAD
    return DYING if health < POOR_AT else ALIVE


def visual_state(pet: PetState) -> str:
    """Which picture to show: the health state, or the ghost once dead."""
    return DEAD_VISUAL if pet.dead else pet.state


def new_pet(now: datetime, generation: int = 1) -> PetState:
    """A newborn at full health; its grace period starts at birth."""
    return PetState(health=MAX_HEALTH, status=ALIVE, generation=generation, born_at=now)


def _with_health(pet: PetState, health: int, zero_at: datetime) -> PetState:
    """Set health and keep status and the death clock consistent with it."""
    health = clamp_health(health)
    if health > MIN_HEALTH:
        zero_since = None
    else:
        zero_since = pet.zero_since if pet.zero_since is not None else zero_at
    return replace(pet, health=health, status=status_for(health), zero_since=zero_since)


def apply_commit(pet: PetState, delta: int, at: datetime) -> PetState:
    """A commit's score moves health and restarts the decay clock; dead pets ignore it.

    Call `settle(pet, at)` first so decay owed before the commit and a death already due are
    charged; the commit path does that, and so does replay. `at` is when the commit reached us,
    and `last_commit_at` never moves backwards when commits are processed out of order.
    """
    if pet.dead:
        return pet
    last = at if pet.last_commit_at is None else max(pet.last_commit_at, at)
    health = pet.health + applied_gain(pet.health, delta)
    return replace(_with_health(pet, health, at), last_commit_at=last)


def applied_gain(health: int, delta: int) -> int:
    """What a commit's delta moves health by: gains shrink inside the thriving band.

    From `THRIVING_AT` up, a gain is scaled by the room left to the top over the band's
    width (truncated, but at least 1), so health near 100 has to be earned and kept, and
    a good commit still moves a pet that is not yet at the top. Losses always apply in
    full, and the 0/100 clamp comes after. `bench/validity.py` measures the effect: with
    full gains the pet sat at 100 for about 15% of commits of real histories, mostly
    telling nobody anything.
    """
    if delta <= 0 or health < THRIVING_AT:
        return delta
    room = MAX_HEALTH - health
    if room <= 0:
        return 0
    return min(delta, max(1, delta * room // (MAX_HEALTH - THRIVING_AT)))


def decay_base(pet: PetState) -> datetime:
    """End of the last day already charged: the later of the grace end and the checkpoint."""
    grace_end = (pet.last_commit_at or pet.born_at) + GRACE_DAYS * DAY
    if pet.last_decay_at is None:
        return grace_end
    return max(grace_end, pet.last_decay_at)


def days_owed(pet: PetState, now: datetime) -> int:
    """Whole days past the checkpoint: the number of decay steps due at `now`."""
    base = decay_base(pet)
    if now < base:
        return 0
    return (now - base) // DAY


def decays(pet: PetState) -> bool:
    """Frozen (archived or suspended), dead or already-zero pets have nothing to decay."""
    return not (pet.dead or pet.frozen or pet.health <= MIN_HEALTH)


def apply_decay(pet: PetState, now: datetime) -> PetState:
    """Charge every whole day owed since the checkpoint, then move the checkpoint.

    Idempotent at a given `now`, and `apply_decay(apply_decay(p, t1), t2) == apply_decay(p, t2)`
    for t1 ≤ t2, which is what makes missed or repeated cron runs harmless.
    """
    if not decays(pet):
        return pet
    # Days past the point of reaching zero charge nothing, so the checkpoint stops there too:
    # that keeps the result independent of how often the cron ran.
    days = min(days_owed(pet, now), days_to_zero(pet.health))
    if days < 1:
        return pet
    base = decay_base(pet)
    checkpoint = base + days * DAY
    # When decay empties the pet, the death clock starts on the grid day it reached zero.
    decayed = _with_health(pet, pet.health - DECAY_PER_DAY * days, checkpoint)
    return replace(decayed, last_decay_at=checkpoint)


def days_to_zero(health: int) -> int:
    """Decay steps until a pet with this health reaches zero."""
    return math.ceil(health / DECAY_PER_DAY)


def death_due(pet: PetState) -> datetime | None:
    """When the pet dies if nothing changes: `DEATH_AFTER` after reaching zero."""
    if pet.dead or pet.frozen or pet.health > MIN_HEALTH or pet.zero_since is None:
        return None
    return pet.zero_since + DEATH_AFTER


def apply_death(pet: PetState, now: datetime) -> PetState:
    """A pet at zero for `DEATH_AFTER` dies at exactly that moment (not at the cron's time)."""
    due = death_due(pet)
    if due is None or now < due:
        return pet
    return replace(pet, status=DEAD, died_at=due)


def settle(pet: PetState, now: datetime) -> PetState:
    """Bring a pet up to `now`: decay owed, then a death that is due. The cron does exactly this."""
    return apply_death(apply_decay(pet, now), now)


def cooldown_expires(pet: PetState) -> datetime | None:
    """When a dead pet may be revived; None for living pets (no cooldown applies)."""
    if not pet.dead or pet.died_at is None:
        return None
    return pet.died_at + COOLDOWN


def revive(pet: PetState, now: datetime) -> PetState:
    """The next generation at full health, once the cooldown from death has passed."""
    if not pet.dead:
        raise PetAlive("only a dead pet can be revived")
    expires = cooldown_expires(pet)
    if expires is not None and now < expires:
        raise CooldownActive(expires)
    return new_pet(now, generation=pet.generation + 1)


def reset(pet: PetState, now: datetime) -> PetState:
    """A manual fresh start: revival for the dead (cooldown applies), a new generation otherwise."""
    if pet.dead:
        return revive(pet, now)
    return new_pet(now, generation=pet.generation + 1)


def set_frozen(pet: PetState, frozen: bool, now: datetime) -> PetState:
    """Archive or suspend (no decay, no death clock), or thaw.

    Thawing moves the decay checkpoint and the death clock to `now`, so the frozen time is
    never charged later as missed days.
    """
    if frozen == pet.frozen:
        return pet
    if frozen or pet.dead:  # a dead pet's clocks are history: only the flag moves
        return replace(pet, frozen=frozen)
    checkpoint = now if pet.last_decay_at is None else max(pet.last_decay_at, now)
    zero_since = None if pet.zero_since is None else now
    return replace(pet, frozen=False, last_decay_at=checkpoint, zero_since=zero_since)


__all__ = [
    "ALIVE",
    "COOLDOWN",
    "DAY",
    "DEAD",
    "DEAD_VISUAL",
    "DEATH_AFTER",
    "DECAY_PER_DAY",
    "DYING",
    "GRACE_DAYS",
    "HEALTHY_AT",
    "HEALTH_STATES",
    "MAX_HEALTH",
    "MIN_HEALTH",
    "OKAY_AT",
    "POOR_AT",
    "REASONS",
    "REASON_COMMIT",
    "REASON_DEATH",
    "REASON_DECAY",
    "REASON_MANUAL_RESET",
    "REASON_REVIVAL",
    "STATUSES",
    "THRIVING_AT",
    "VISUAL_STATES",
    "CooldownActive",
    "PetAlive",
    "PetState",
    "applied_gain",
    "apply_commit",
    "apply_death",
    "apply_decay",
    "clamp_health",
    "cooldown_expires",
    "days_owed",
    "days_to_zero",
    "death_due",
    "decay_base",
    "health_state",
    "new_pet",
    "reset",
    "revive",
    "set_frozen",
    "settle",
    "status_for",
    "visual_state",
]
