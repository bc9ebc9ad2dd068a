"""Streaks: consecutive days with at least one commit that did not lower the pet's health.

Days are UTC calendar days, numbered from 1970-01-01 (`day_number`), because people in
different time zones share one pet and the database stores the same number for everyone. A
streak is still running on the day after its last day (today is not over yet), and broken
after that. Pure functions over day numbers and an injected `today`, like `rules.py`: the
read model, the achievement rules and `tamagitto replay` agree because they call these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

EPOCH: Final = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Streak:
    """The run still going (`current`, 0 when broken) and the longest one (`best`)."""

    current: int = 0
    best: int = 0
    best_until: int | None = None  # the last day of the best run
    last_day: int | None = None  # the last day with a commit that did not lower health


def day_number(at: datetime) -> int:
    """The UTC calendar day of a moment, as days since 1970-01-01."""
    return (at.astimezone(UTC).date() - EPOCH).days


def day_date(day: int) -> date:
    """The calendar date of a day number."""
    return EPOCH + timedelta(days=day)


def runs(days: Iterable[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive days as (first, last), oldest first."""
    found: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        if found and day == found[-1][1] + 1:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def streak(days: Iterable[int], today: int) -> Streak:
    """The streak of these good days as seen on `today` (later days are ignored)."""
    return streak_of_runs(runs(days), today)


def streak_of_runs(found: Iterable[tuple[int, int]], today: int) -> Streak:
    """The streak of runs of good days (first, last), as seen on `today`: the database can
    hand runs over instead of every day (`app.read.caretakers`)."""
    seen = sorted((first, min(last, today)) for first, last in found if first <= today)
    if not seen:
        return Streak()
    first, last = seen[-1]
    current = last - first + 1 if last >= today - 1 else 0
    best_first, best_last = max(seen, key=lambda run: (run[1] - run[0], run[1]))
    return Streak(current, best_last - best_first + 1, best_last, last)


def length_on(days: Iterable[int], day: int, cap: int | None = None) -> int:
    """How long the run ending on `day` is, counting `day` itself (0 when `day` is not good),
    counted up to `cap` when one is given."""
    good = days if isinstance(days, set | frozenset) else set(days)
    length = 0
    while day - length in good and (cap is None or length < cap):
        length += 1
    return length


__all__ = [
    "EPOCH",
    "Streak",
    "day_date",
    "day_number",
    "length_on",
    "runs",
    "streak",
    "streak_of_runs",
]
