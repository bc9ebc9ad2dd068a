"""Commit status descriptions: one honest line of at most 140 characters.

GitHub answers 422 to a longer description. Emoji outside the Basic Multilingual Plane count
twice in UTF-16, so lengths are measured in UTF-16 code units, the stricter of the two counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.entities import rules

MAX_DESCRIPTION = 140
ELLIPSIS = "…"
TOMBSTONE = "🪦"


@dataclass(frozen=True)
class StatusText:
    """What a status says besides the pet: the delta, its reasons, config problems."""

    delta: int
    reasons: list[str] = field(default_factory=list)
    config_errors: list[str] = field(default_factory=list)
    commits: int = 1


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """Cut at a word boundary and add "…" so the whole is at most `limit` units."""
    if units(text) <= limit:
        return text
    budget = limit - units(ELLIPSIS)
    cut = text
    while units(cut) > budget:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" ,:;·(") + ELLIPSIS


def signed(delta: int) -> str:
    """+4, -3, ±0."""
    return f"+{delta}" if delta > 0 else (f"{delta}" if delta < 0 else "±0")


def status_description(emoji: str, name: str, health: int, status: str, text: StatusText) -> str:
    """E.g. "🐱 Mochi is healthy · 72/100 (+4): tests added, complexity down"."""
    if status == rules.DEAD:
        return fit(f"{TOMBSTONE} {name} has died · revive it from the extension")
    state = rules.health_state(health)
    span = f" over {text.commits} commits" if text.commits > 1 else ""
    head = f"{emoji} {name} is {state} · {health}/100 ({signed(text.delta)}{span})"
    if text.config_errors:
        return fit(f"{head} · .github/tamagitto.yml is invalid, defaults used")
    detail = ", ".join(r for r in text.reasons[:3] if r)
    return fit(f"{head}: {detail}" if detail else head)


def push_description(rows: Sequence[Any], total: int, config_errors: list[str]) -> StatusText:
    """A whole push in one status: the summed delta and the most frequent reasons."""
    counts: dict[str, int] = {}
    for row in rows:
        for reason in row.reasons:
            counts[reason["code"]] = counts.get(reason["code"], 0) + abs(int(reason["points"]))
    details = {r["code"]: r["detail"] for row in rows for r in row.reasons}
    top = sorted(counts, key=lambda code: -counts[code])[:3]
    return StatusText(
        delta=sum(int(row.health_delta) for row in rows),
        reasons=[details[code] for code in top],
        config_errors=config_errors,
        commits=total,
    )
