"""The pet's life as pure rules: health states, commits, revival, freezing and hibernation.

Every function here takes the pet and an injected time and returns a new `PetState`; nothing
reads a clock or touches the database. The hourly cron (as set-based SQL), the commit path and
`tamagitto replay` all follow these same rules. The decay and death clocks, which the cron's SQL
(`decay_sql.py`) mirrors line for line and the tests check against, are in `decay_rules.py`.

Time model
----------
* Decay starts `grace_days` after the last commit (or birth) and charges whole days on a grid;
  a pet at zero for `DEATH_AFTER` dies (`decay_rules.py` has the details).
* Dead pets take no health changes. Revival starts a new generation after `COOLDOWN`.
* A commit's gain shrinks inside the thriving band (`applied_gain`); losses apply in full.

Resting
-------
* Each pet carries its decay parameters (`grace_days`, `decay_per_day`, from `decay:` in
  `.github/tamagitto.yml`; the defaults are `GRACE_DAYS` and `DECAY_PER_DAY`, and
  `decay_per_day == 0` is `decay: off`).
* A hibernating pet (`sleeping_since` set) neither decays nor dies, like a frozen one. It wakes
  on its next commit (`apply_commit`), by hand (`wake`), or at `sleep_until`: `wake_due` wakes it
  at exactly that moment, whenever the cron runs. Waking moves the decay checkpoint and the
  death clock to the moment of waking, so the sleep is never charged as missed days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from app.core.decay import DECAY_PER_DAY as DECAY_PER_DAY
from app.core.decay import GRACE_DAYS as GRACE_DAYS
from app.core.decay import MAX_DECAY_PER_DAY as MAX_DECAY_PER_DAY
from app.core.decay import MAX_GRACE_DAYS as MAX_GRACE_DAYS
from app.core.vocabulary import ALIVE as ALIVE
from app.core.vocabulary import DEAD as DEAD
from app.core.vocabulary import DYING as DYING
from app.core.vocabulary import HEALTH_STATES as HEALTH_STATES
from app.core.vocabulary import HEALTHY as HEALTHY
from app.core.vocabulary import OKAY as OKAY
from app.core.vocabulary import POOR as POOR
from app.core.vocabulary import STATE_DYING as STATE_DYING
from app.core.vocabulary import STATUSES as STATUSES
from app.core.vocabulary import THRIVING as THRIVING

MAX_HEALTH: Final = 100
MIN_HEALTH: Final = 0

THRIVING_AT: Final = 80
HEALTHY_AT: Final = 60
OKAY_AT: Final = 40
POOR_AT: Final = 20

MAX_SLEEP: Final = timedelta(days=90)
DAY: Final = timedelta(days=1)
DEATH_AFTER: Final = timedelta(hours=24)
COOLDOWN: Final = timedelta(hours=48)

# The picture shown for a dead pet; not a health state, but it has its own image row.
DEAD_VISUAL: Final = "dead"
# The picture shown while a living pet hibernates.
SLEEPING_VISUAL: Final = "sleeping"
VISUAL_STATES: Final = (*HEALTH_STATES, DEAD_VISUAL, SLEEPING_VISUAL)

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


class PetDead(Exception):
    """A dead pet cannot hibernate: only the living have anything to rest from."""


class BadSleep(ValueError):
    """`until` is not in the future or further than `MAX_SLEEP` ahead."""


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
    grace_days: int = GRACE_DAYS
    decay_per_day: int = DECAY_PER_DAY
    sleeping_since: datetime | None = None
    sleep_until: datetime | None = None

    @property
    def dead(self) -> bool:
        """Dead pets are final for their generation."""
        return self.status == DEAD

    @property
    def asleep(self) -> bool:
        """Hibernating: no decay and no death clock until it wakes."""
        return self.sleeping_since is not None

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
    """Which picture to show: the ghost once dead, the sleeper, or the health state."""
    if pet.dead:
        return DEAD_VISUAL
    return SLEEPING_VISUAL if pet.asleep else pet.state


def new_pet(
    now: datetime,
    generation: int = 1,
    grace_days: int = GRACE_DAYS,
    decay_per_day: int = DECAY_PER_DAY,
) -> PetState:
    """A newborn at full health; its grace period starts at birth."""
    return PetState(
        health=MAX_HEALTH,
        status=ALIVE,
        generation=generation,
        born_at=now,
        grace_days=grace_days,
        decay_per_day=decay_per_day,
    )


def with_decay(pet: PetState, grace_days: int, decay_per_day: int) -> PetState:
    """New decay parameters (the repository's `decay:` changed); charged days stay charged.

    Only days after the checkpoint are charged at the new rate, so changing the setting
    never re-prices the past.
    """
    return replace(pet, grace_days=grace_days, decay_per_day=decay_per_day)


def with_health(pet: PetState, health: int, zero_at: datetime) -> PetState:
    """Set health and keep status and the death clock consistent with it (`zero_at` starts
    the clock when health reaches zero); commits and decay (`decay_rules.py`) both move health."""
    health = clamp_health(health)
    if health > MIN_HEALTH:
        zero_since = None
    else:
        zero_since = pet.zero_since if pet.zero_since is not None else zero_at
    return replace(pet, health=health, status=status_for(health), zero_since=zero_since)


def apply_commit(pet: PetState, delta: int, at: datetime) -> PetState:
    """A commit's score moves health and restarts the decay clock; dead pets ignore it.

    Call `decay_rules.settle(pet, at)` first so decay owed before the commit and a death
    already due are charged; the commit path does that, and so does replay. `at` is when the
    commit reached us, and `last_commit_at` never moves backwards when commits are processed
    out of order.
    """
    if pet.dead:
        return pet
    pet = wake(pet, at)  # someone is back: a commit ends hibernation
    last = at if pet.last_commit_at is None else max(pet.last_commit_at, at)
    health = pet.health + applied_gain(pet.health, delta)
    return replace(with_health(pet, health, at), last_commit_at=last)


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
    return new_pet(now, pet.generation + 1, pet.grace_days, pet.decay_per_day)


def reset(pet: PetState, now: datetime) -> PetState:
    """A manual fresh start: revival for the dead (cooldown applies), a new generation otherwise."""
    if pet.dead:
        return revive(pet, now)
    return new_pet(now, pet.generation + 1, pet.grace_days, pet.decay_per_day)


def set_frozen(pet: PetState, frozen: bool, now: datetime) -> PetState:
    """Archive or suspend (no decay, no death clock), or thaw.

    Thawing moves the decay checkpoint and the death clock to `now`, so the frozen time is
    never charged later as missed days.
    """
    if frozen == pet.frozen:
        return pet
    if frozen or pet.dead:  # a dead pet's clocks are history: only the flag moves
        return replace(pet, frozen=frozen)
    return _resume_clocks(replace(pet, frozen=False), now)


def _resume_clocks(pet: PetState, now: datetime) -> PetState:
    """Move the decay checkpoint and the death clock to `now` after a pause (frozen, asleep)."""
    checkpoint = now if pet.last_decay_at is None else max(pet.last_decay_at, now)
    zero_since = None if pet.zero_since is None else now
    return replace(pet, last_decay_at=checkpoint, zero_since=zero_since)


def hibernate(pet: PetState, now: datetime, until: datetime | None = None) -> PetState:
    """Put a living pet to sleep, until its next commit or `until` (at most `MAX_SLEEP` ahead).

    Call `decay_rules.settle(pet, now)` first so decay owed before the nap is charged
    (`lifecycle.hibernate_pet` does). A sleeping pet asked again keeps its nap's start and
    takes the new `until`.
    """
    if pet.dead:
        raise PetDead("a dead pet cannot hibernate")
    if until is not None and not now < until <= now + MAX_SLEEP:
        raise BadSleep(f"until must be after now and at most {MAX_SLEEP.days} days ahead")
    return replace(pet, sleeping_since=pet.sleeping_since or now, sleep_until=until)


def wake(pet: PetState, now: datetime) -> PetState:
    """End hibernation at `now`; the time asleep is never charged later."""
    if not pet.asleep:
        return pet
    awake = replace(pet, sleeping_since=None, sleep_until=None)
    return awake if pet.dead or pet.frozen else _resume_clocks(awake, now)


def wake_due(pet: PetState, now: datetime) -> PetState:
    """Wake a sleeper whose `until` has come, at exactly that moment (cron timing never matters).

    Frozen and dead pets are left as they are, as the cron leaves them.
    """
    until = pet.sleep_until
    if not pet.asleep or until is None or until > now or pet.dead or pet.frozen:
        return pet
    return wake(pet, until)


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
    "MAX_DECAY_PER_DAY",
    "MAX_GRACE_DAYS",
    "MAX_HEALTH",
    "MAX_SLEEP",
    "MIN_HEALTH",
    "OKAY_AT",
    "POOR_AT",
    "REASONS",
    "REASON_COMMIT",
    "REASON_DEATH",
    "REASON_DECAY",
    "REASON_MANUAL_RESET",
    "REASON_REVIVAL",
    "SLEEPING_VISUAL",
    "STATUSES",
    "THRIVING_AT",
    "VISUAL_STATES",
    "BadSleep",
    "CooldownActive",
    "PetAlive",
    "PetDead",
    "PetState",
    "applied_gain",
    "apply_commit",
    "clamp_health",
    "cooldown_expires",
    "health_state",
    "hibernate",
    "new_pet",
    "reset",
    "revive",
    "set_frozen",
    "status_for",
    "visual_state",
    "wake",
    "wake_due",
    "with_decay",
    "with_health",
]
