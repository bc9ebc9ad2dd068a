"""The caretakers of a whole history at once: credits, achievements and totals, in memory.

`tamagitto replay` feeds it each commit in order with the pet's states; it builds the same
`Past` and `PetPast` the commit path reads from the database (`app.jobs.caretaking`) and asks
the same rules, so a replay shows who would have earned what. It keeps the figures the rules
read (the last commits, a running month of complexity, the good days), updated as commits
come, so a long history costs the same per commit as a short one. Histories are fed oldest
first; the windows assume it, as the commit path's queries cut them by time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from app.entities import achievements, rules
from app.entities.achievements import Kind, Mark, Past, PetPast, Step
from app.entities.credit import Credit, Person, aliases, resolve
from app.entities.streaks import Streak, day_number, streak


@dataclass(frozen=True, slots=True)
class Grant:
    """An achievement earned: by whom, which one, at which commit."""

    person: Person
    kind: Kind
    sha: str
    at: datetime


@dataclass
class Total:
    """One person's sums over a period: health added and taken away, commits, best commit."""

    person: Person
    added: int = 0
    removed: int = 0
    commits: int = 0
    best_sha: str | None = None
    best_points: int | None = None
    best_reasons: tuple[tuple[str, int], ...] = ()

    def add(self, points: int, step: Step) -> None:
        """Count one credited commit."""
        self.commits += 1
        if points > 0:
            self.added += points
        else:
            self.removed -= points
        if self.best_points is None or points > self.best_points:
            self.best_sha, self.best_points, self.best_reasons = step.sha, points, step.reasons

    @property
    def net(self) -> int:
        """Added minus taken away."""
        return self.added - self.removed


@dataclass
class _Person:
    """What the ledger keeps of one person: the rules' figures, and their grants."""

    commits: int = 0
    first_at: datetime | None = None
    recent: deque[Mark] = field(default_factory=lambda: deque(maxlen=achievements.RECENT_COMMITS))
    month: deque[Mark] = field(default_factory=deque)
    month_complexity: int = 0
    have: set[str] = field(default_factory=set)
    good_days: set[int] = field(default_factory=set)

    def past(self, at: datetime) -> Past:
        """The person's past as a commit at `at` sees it."""
        while self.month and self.month[0].at <= at - achievements.MONTH:
            self.month_complexity -= self.month.popleft().complexity
        today = day_number(at)
        window = range(today - achievements.WINDOW_DAYS, today + 1)
        return Past(
            min(self.commits, achievements.COUNT_CAP),
            self.first_at,
            tuple(self.recent),
            self.month_complexity,
            frozenset(day for day in window if day in self.good_days),
        )

    def add(self, step: Step) -> None:
        """Remember one more commit of theirs."""
        mark = step.mark
        self.commits += 1
        self.first_at = self.first_at or step.at
        self.recent.append(mark)
        self.month.append(mark)
        self.month_complexity += mark.complexity
        if step.delta >= 0:
            self.good_days.add(day_number(step.at))


@dataclass
class Ledger:
    """A history's caretakers, fed commit by commit (and the pet's states between them)."""

    generation: int = 1
    generation_commits: int = 0
    last_death: datetime | None = None
    thriving_since: datetime | None = None
    secrets: list[Step] = field(default_factory=list)
    people: dict[str, _Person] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    credited: list[tuple[Credit, Step]] = field(default_factory=list)
    pet_days: set[int] = field(default_factory=set)
    known: dict[str, Person] = field(default_factory=dict)  # email hash → linked person
    _died: bool = False

    def observe(self, at: datetime, health: int, generation: int) -> None:
        """The pet had this health at `at` (after decay, before or after a commit)."""
        if generation != self.generation:
            self.generation, self.generation_commits = generation, 0
            self.last_death = self.last_death if self._died else None
            self._died = False
            self.thriving_since = None
        if health < rules.THRIVING_AT:
            self.thriving_since = None
        elif self.thriving_since is None:
            self.thriving_since = at

    def died(self, at: datetime) -> None:
        """The current generation died at `at`."""
        self.last_death, self._died, self.thriving_since = at, True, None

    def pet_past(self, at: datetime) -> PetPast:
        """The pet's life before a commit at `at`."""
        self.secrets = [s for s in self.secrets if at - s.at <= achievements.SECRET_WITHIN]
        return PetPast(
            generation=self.generation,
            generation_commits=self.generation_commits,
            last_death=self.last_death if self.generation > 1 else None,
            thriving_since=self.thriving_since,
            secrets=tuple(self.secrets),
        )

    def record(self, step: Step, credits: list[Credit]) -> list[Grant]:
        """Credit one commit and grant what it earned; returns the new grants."""
        self.known.update(aliases(c.person for c in credits))
        credits = resolve(credits, self.known)
        pet = self.pet_past(step.at)
        found: list[Grant] = []
        for credit in credits:
            mine = self.people.setdefault(credit.person.key, _Person())
            for kind in achievements.earned(step, mine.past(step.at), pet, mine.have):
                mine.have.add(kind.code)
                found.append(Grant(credit.person, kind, step.sha, step.at))
            mine.add(step)
            self.credited.append((credit, step))
        self.generation_commits += 1
        if step.secret:
            self.secrets.append(step)
        if step.delta >= 0:
            self.pet_days.add(day_number(step.at))
        self.grants.extend(found)
        return found

    def totals(self, since: datetime | None = None) -> list[Total]:
        """Each person's sums (since a moment, or over everything), best caretaker first."""
        by_key: dict[str, Total] = {}
        for credit, step in self.credited:
            if since is None or step.at >= since:
                total = by_key.setdefault(credit.person.key, Total(credit.person))
                total.add(credit.points, step)
        return sorted(by_key.values(), key=lambda t: (-t.net, -t.commits, t.person.name))

    def streak_of(self, key: str | None, today: int) -> Streak:
        """A person's streak (or the pet's, for `None`) as seen on `today`."""
        days = self.pet_days if key is None else self.people[key].good_days
        return streak(days, today)


__all__ = ["Grant", "Ledger", "Total"]
