"""Who would have earned what over a replayed history: credit, achievements and caretakers.

`tamagitto replay` hands each commit here with the pet as the commit met it and left it; the
ledger (`app.entities.ledger`) credits its author and co-authors and asks the same achievement
rules the commit path asks. Between commits the pet's life is read off the same decay rules
(the moment health fell out of thriving, a death), so "kept it thriving" means what it means
in production. Local histories have no GitHub accounts: people are their names and email
hashes, or logins from `users.noreply.github.com` addresses.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any, Final

from app.analysis.lanes import Analysed, source_paths
from app.entities import credit, decay_rules, rules
from app.entities.achievements import Step
from app.entities.ledger import Grant, Ledger, Total
from app.entities.streaks import day_date, day_number

RECENT: Final = timedelta(days=30)
REVERT_DETAIL = re.compile(r"^reverts ([0-9a-f]{7,40})\b")


def _reverts(commit: Analysed) -> str | None:
    """The commit this one reverts: named by its message, or by its revert reason."""
    if commit.reverts:
        return commit.reverts
    for reason in commit.reasons:
        found = REVERT_DETAIL.match(str(reason.get("detail", "")))
        if reason.get("code") == "revert" and found:
            return found.group(1)
    return None


def step_of(commit: Analysed, met: rules.PetState, pet: rules.PetState) -> Step:
    """A replayed commit as the achievement rules see it."""
    secrets = (commit.metrics.get("security") or {}).get("secrets") or []
    return Step(
        sha=commit.sha,
        at=commit.committed_at,
        delta=commit.delta,
        reasons=tuple((str(r["code"]), int(r["points"])) for r in commit.reasons),
        paths=source_paths(commit),
        secret_paths=tuple(str(s.get("path")) for s in secrets if isinstance(s, dict)),
        reverts=_reverts(commit),
        status_before=met.status,
        status_after=pet.status,
        health_after=pet.health,
    )


def fell_below(pet: rules.PetState, level: int, until: datetime) -> datetime | None:
    """When decay took a pet below `level` before `until`, if it did (the decay day's end)."""
    if pet.health < level or not decay_rules.decays(pet) or pet.decay_per_day <= 0:
        return None
    steps = math.ceil((pet.health - level + 1) / pet.decay_per_day)
    when = decay_rules.decay_base(pet) + steps * rules.DAY
    return when if when <= until else None


def between(
    ledger: Ledger, before: rules.PetState | None, met: rules.PetState, at: datetime
) -> None:
    """What happened to the pet from its last commit until a commit at `at` met it as `met`:
    birth, health falling out of thriving, death, and the revival that hatched `met`."""
    if before is None:
        ledger.observe(met.born_at, met.health, met.generation)
        return
    low = fell_below(before, rules.THRIVING_AT, at)
    if low is not None:
        ledger.observe(low, rules.THRIVING_AT - 1, before.generation)
    settled = decay_rules.settle(before, at)
    if settled.dead and not before.dead:
        ledger.died(settled.died_at or at)
    if met.generation != before.generation:
        ledger.observe(met.born_at, met.health, met.generation)


def record(
    ledger: Ledger,
    commit: Analysed,
    before: rules.PetState | None,
    met: rules.PetState,
    pet: rules.PetState,
) -> list[dict[str, Any]]:
    """Credit one replayed commit; the achievements it earned, as document entries."""
    at = commit.committed_at
    between(ledger, before, met, at)
    ledger.observe(at, met.health, met.generation)
    found = credit.credits(
        commit.author_name, commit.author_email, None, commit.trailers, commit.delta
    )
    grants = ledger.record(step_of(commit, met, pet), found)
    ledger.observe(at, pet.health, pet.generation)
    return [grant_entry(grant) for grant in grants]


def person_entry(person: credit.Person) -> dict[str, Any]:
    return {"key": person.key, "name": person.name, "login": person.login}


def grant_entry(grant: Grant) -> dict[str, Any]:
    """One achievement of the `--json` document."""
    return {
        "at": grant.at.isoformat(),
        "person": person_entry(grant.person),
        "code": grant.kind.code,
        "title": grant.kind.title,
        "sha": grant.sha,
    }


def total_entry(total: Total, ledger: Ledger, today: int) -> dict[str, Any]:
    """One caretaker of the `--json` document."""
    streak = ledger.streak_of(total.person.key, today)
    return {
        "person": person_entry(total.person),
        "added": total.added,
        "taken_away": total.removed,
        "net": total.net,
        "commits": total.commits,
        "best_commit": {
            "sha": total.best_sha,
            "points": total.best_points,
            "reasons": [{"code": c, "points": p} for c, p in total.best_reasons],
        },
        "streak": {"current": streak.current, "best": streak.best},
    }


def document(ledger: Ledger, end: datetime | None) -> dict[str, Any]:
    """The caretakers at the replay's end: all time, the last 30 days, the pet's streak."""
    if end is None:
        return {"all_time": [], "last_30_days": [], "streak": {"current": 0, "best": 0}}
    today = day_number(end)
    pet = ledger.streak_of(None, today)
    last = day_date(pet.last_day).isoformat() if pet.last_day is not None else None
    return {
        "all_time": [total_entry(t, ledger, today) for t in ledger.totals()],
        "last_30_days": [total_entry(t, ledger, today) for t in ledger.totals(end - RECENT)],
        "streak": {"current": pet.current, "best": pet.best, "last_day": last},
    }


__all__ = ["between", "document", "fell_below", "grant_entry", "record", "step_of"]
