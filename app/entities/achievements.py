"""Achievements: what a commit earns its people, decided by pure rules over what came before.

Each rule reads the commit (`Step`), the person's recent commits (`Past`) and the pet's
recent life (`PetPast`), all built from stored analyses and history rows, never from a
counter kept on the side. A person earns each achievement once per repository, at the first
commit for which its rule holds, and the grant points at that commit. What the rules read of the
past is small and bounded (the last `RECENT_COMMITS` commits, a month's complexity sum, the good
days of the last `WINDOW`), so the commit path reads it with a few indexed aggregates whatever
the history's length, and the batch path (`app.entities.ledger`, used by `tamagitto replay`)
keeps the same figures in memory.

Time is injected: a step carries its commit's time, the windows are measured from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from app.entities import rules
from app.entities.streaks import day_number, length_on

TIDY_RUN: Final = 10  # commits in a row without a lint problem
MONTH: Final = timedelta(days=30)
WINDOW_DAYS: Final = 30  # good days looked back (the longest streak rule), besides the step's
WINDOW: Final = timedelta(days=WINDOW_DAYS + 1)
KEEPER_DAYS: Final = timedelta(days=30)  # thriving for this long
CAUGHT_UP_WITHIN: Final = timedelta(days=7)
SECRET_WITHIN: Final = timedelta(days=1)
BIG_LIFT: Final = 10  # points of one commit
CENTURION: Final = 100  # commits
STREAKS: Final = (7, 30)
RECENT_COMMITS: Final = TIDY_RUN - 1  # earlier commits `tidy_ten` reads, whatever their age
COUNT_CAP: Final = CENTURION  # `Past.commits` may stop counting here

LINT_CODE: Final = "lint_introduced"
SECRET_CODE: Final = "secret_committed"
COMPLEXITY_CODES: Final = ("complexity_added", "complexity_reduced")


@dataclass(frozen=True, slots=True)
class Mark:
    """What the rules remember of an earlier commit of a person (a row of `analysis_credits`)."""

    at: datetime
    delta: int
    lint_clean: bool = True
    complexity: int = 0  # complexity points: positive when burden was removed

    @property
    def day(self) -> int:
        """The commit's UTC day."""
        return day_number(self.at)


@dataclass(frozen=True, slots=True)
class Step:
    """One applied commit as the rules see it."""

    sha: str
    at: datetime
    delta: int
    reasons: tuple[tuple[str, int], ...] = ()  # (code, points) of its score
    paths: tuple[str, ...] = ()  # the source files it changed
    secret_paths: tuple[str, ...] = ()  # where it committed real-looking secrets
    reverts: str | None = None  # the (abbreviated) sha it reverts
    status_before: str = rules.ALIVE
    status_after: str = rules.ALIVE
    health_after: int | None = None

    def points(self, code: str) -> int:
        """The points of one kind of reason (0 when absent)."""
        return sum(points for found, points in self.reasons if found == code)

    @property
    def mark(self) -> Mark:
        """What later rules remember of this commit."""
        return Mark(self.at, self.delta, self.lint_clean, self.complexity)

    @property
    def lint_clean(self) -> bool:
        """No lint problem introduced."""
        return all(code != LINT_CODE for code, _ in self.reasons)

    @property
    def complexity(self) -> int:
        """Burden removed minus burden added, in points."""
        return sum(self.points(code) for code in COMPLEXITY_CODES)

    @property
    def secret(self) -> bool:
        """It committed a real-looking secret."""
        return any(code == SECRET_CODE for code, _ in self.reasons)


@dataclass(frozen=True, slots=True)
class Past:
    """A person's commits before a step, as far as the rules look.

    `commits` is counted up to `COUNT_CAP` (all the rules need); `recent` is the last
    `RECENT_COMMITS` commits, oldest first; `month_complexity` sums the complexity points of the
    commits of the `MONTH` up to the step; `good_days` are the days of the `WINDOW` up to the
    step with a commit that did not lower health.
    """

    commits: int = 0
    first_at: datetime | None = None
    recent: tuple[Mark, ...] = ()
    month_complexity: int = 0
    good_days: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class PetPast:
    """The pet's life before a step.

    `thriving_since` is when health last rose to thriving and stayed there (None: not thriving
    right before the commit); the commit path may report any moment up to `KEEPER_DAYS` back
    when it is earlier, which is all the rules compare. `secrets` are the commits of the last
    `SECRET_WITHIN` that committed a secret.
    """

    generation: int = 1
    generation_commits: int = 0
    last_death: datetime | None = None
    thriving_since: datetime | None = None
    secrets: tuple[Step, ...] = ()


Rule = Callable[[Step, Past, PetPast], bool]


@dataclass(frozen=True, slots=True)
class Kind:
    """One achievement: its code, how it shows, and its rule."""

    code: str
    emoji: str
    title: str
    description: str
    rule: Rule = field(repr=False)


def _streak(length: int) -> Rule:
    """At least `length` days in a row, ending on the step's day, with a good commit."""

    def rule(step: Step, past: Past, pet: PetPast) -> bool:
        today = day_number(step.at)
        return step.delta >= 0 and length_on(past.good_days | {today}, today, length) >= length

    return rule


def _tidy(step: Step, past: Past, pet: PetPast) -> bool:
    earlier = past.recent[-RECENT_COMMITS:]
    return (
        step.lint_clean
        and len(earlier) >= RECENT_COMMITS
        and all(mark.lint_clean for mark in earlier)
    )


def _untangled(step: Step, past: Past, pet: PetPast) -> bool:
    """Over the 30 days up to the step, more burden removed than added (and some removed),
    by someone who has been around for at least those 30 days."""
    if past.first_at is None or past.first_at > step.at - MONTH:
        return False
    return step.complexity > 0 and step.complexity + past.month_complexity > 0


def _rescued(step: Step, past: Past, pet: PetPast) -> bool:
    return step.status_before == rules.DYING and step.status_after == rules.ALIVE


def _revived(step: Step, past: Past, pet: PetPast) -> bool:
    return pet.last_death is not None and pet.generation_commits == 0


def _caught_up(step: Step, past: Past, pet: PetPast) -> bool:
    return (
        pet.last_death is not None
        and step.at - pet.last_death <= CAUGHT_UP_WITHIN
        and step.delta >= 0
        and step.status_after != rules.DEAD
    )


def _keeper(step: Step, past: Past, pet: PetPast) -> bool:
    since, after = pet.thriving_since, step.health_after
    still = after is None or after >= rules.THRIVING_AT
    return since is not None and step.at - since >= KEEPER_DAYS and still


def _cleaned(secret: Step, step: Step) -> bool:
    """`step` reverts `secret`'s commit or changes a file it put a secret in."""
    if step.reverts and secret.sha.startswith(step.reverts.lower()):
        return True
    return bool(set(step.paths) & set(secret.secret_paths))


def _locksmith(step: Step, past: Past, pet: PetPast) -> bool:
    if not pet.secrets or step.secret:
        return False
    return any(
        step.at - secret.at <= SECRET_WITHIN and _cleaned(secret, step) for secret in pet.secrets
    )


def _never(step: Step, past: Past, pet: PetPast) -> bool:
    """A commit never earns it: the pull-request path grants it (`forecast_earns`)."""
    return False


FORECASTER: Final = "forecaster"

KINDS: Final[tuple[Kind, ...]] = (
    Kind("first_commit", "🐣", "First meal", "Their first analysed commit to this pet.",
         lambda s, p, pet: p.commits == 0),
    Kind("first_test", "🧪", "First test", "Their first commit that added test cases.",
         lambda s, p, pet: s.points("tests_added") > 0),
    Kind("scribe", "📝", "Scribe", "Their first commit that added documentation.",
         lambda s, p, pet: s.points("docs_added") > 0),
    Kind("tidy_ten", "🧹", "Tidy ten",
         f"{TIDY_RUN} commits in a row without a lint problem.", _tidy),
    Kind("untangler", "🪢", "Untangler",
         "Removed more complexity than they added over a month.", _untangled),
    Kind("big_lift", "💪", "Big lift", f"One commit worth +{BIG_LIFT} or more.",
         lambda s, p, pet: s.delta >= BIG_LIFT),
    Kind("streak_7", "🔥", "Week streak",
         "Seven days in a row with a commit that did not lower health.", _streak(STREAKS[0])),
    Kind("streak_30", "☄️", "Month streak",
         "Thirty days in a row with a commit that did not lower health.", _streak(STREAKS[1])),
    Kind("rescuer", "🚑", "Rescuer", "The commit that brought the pet back from dying.",
         _rescued),
    Kind("revived", "🌱", "New life", "The first commit to a pet hatched after a death.",
         _revived),
    Kind("caught_up", "⏱️", "Caught up",
         "A commit that did not lower health within a week of the pet's death.", _caught_up),
    Kind("keeper", "🌟", "Keeper", "Committed while the pet had been thriving for 30 days.",
         _keeper),
    Kind("locksmith", "🔐", "Locksmith",
         "Cleaned up a committed secret within a day (reverted it or changed its file).",
         _locksmith),
    Kind("centurion", "💯", "Centurion", f"{CENTURION} commits to this pet.",
         lambda s, p, pet: p.commits + 1 >= CENTURION),
    Kind(FORECASTER, "🔮", "Good forecast",
         "Their first pull request whose forecast raised health (replay has no pull requests, "
         "so it never earns this).", _never),
)  # fmt: skip
BY_CODE: Final = {kind.code: kind for kind in KINDS}


def earned(step: Step, past: Past, pet: PetPast, have: Iterable[str] = ()) -> list[Kind]:
    """The achievements this step earns its person that they do not have yet, in order."""
    owned = set(have)
    return [kind for kind in KINDS if kind.code not in owned and kind.rule(step, past, pet)]


def forecast_earns(delta: int, have: Iterable[str] = ()) -> Kind | None:
    """What a completed pull-request forecast earns its author: `forecaster` the first time one
    raises health. The pet is not touched: a forecast only says what a merge would do."""
    if delta > 0 and FORECASTER not in set(have):
        return BY_CODE[FORECASTER]
    return None


__all__ = [
    "BY_CODE",
    "COUNT_CAP",
    "FORECASTER",
    "KINDS",
    "RECENT_COMMITS",
    "WINDOW",
    "Kind",
    "Mark",
    "Past",
    "PetPast",
    "Step",
    "earned",
    "forecast_earns",
]
