"""Replay a local repository's history through the same analysis and pet rules as production.

Commits are taken oldest first along the first-parent chain. Time is each
commit's own date, so decay between commits happens as it would have. A pet
that dies is revived at the first commit after its cooldown, as a person
adopting a new pet would (the next generation). The replay's clock stops at
the last commit.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.analysis.gitlocal import LocalGitSource
from app.analysis.lanes import Analysed, Progress, analyse_all, default_jobs
from app.entities import rules
from app.entities.species import (
    SUBSPECIES,
    emoji_for,
    generation_name,
    pet_name,
    species_for,
    stable_hash,
)

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
TOP_REASONS = 2
REPO_ID_MODULO = 2**31  # species_for wants an int id; a replay has only a name


@dataclass
class _Run:
    """The state a replay carries from one commit to the next."""

    pet: rules.PetState | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)


def repository_name(path: str) -> str:
    """The folder name of the repository (``.git`` suffix of bare clones dropped)."""
    name = os.path.basename(os.path.abspath(path).rstrip("/"))
    return name[:-4] if name.endswith(".git") and len(name) > 4 else name


def step_pet(pet: rules.PetState | None, delta: int, at: datetime) -> rules.PetState:
    """Settle decay and death up to ``at``, revive when allowed, then apply the commit."""
    if pet is None:
        pet = rules.new_pet(at)
    pet = rules.settle(pet, at)
    expires = rules.cooldown_expires(pet)
    if pet.dead and expires is not None and at >= expires:
        pet = rules.revive(pet, at)
    return rules.apply_commit(pet, delta, at)


def commit_entry(commit: Analysed, pet: rules.PetState) -> dict[str, Any]:
    """One commit of the ``--json`` document."""
    return {
        "sha": commit.sha,
        "committed_at": commit.committed_at.isoformat(),
        "delta": commit.delta,
        "health": pet.health,
        "state": rules.visual_state(pet),
        "reasons": commit.reasons,
        "metrics": commit.metrics,
    }


def pet_document(run: _Run, repository: str) -> dict[str, Any]:
    """The pet at the end of the replay (a newborn when there was no commit)."""
    language = run.languages.most_common(1)[0][0] if run.languages else None
    _, subspecies = species_for(language, stable_hash("replay", repository) % REPO_ID_MODULO)
    pet = run.pet
    return {
        "name": rules_name(repository, pet.generation if pet else 1),
        "species": subspecies,
        "health": pet.health if pet else rules.MAX_HEALTH,
        "state": rules.visual_state(pet) if pet else rules.THRIVING,
        "status": pet.status if pet else rules.ALIVE,
        "generation": pet.generation if pet else 1,
    }


def rules_name(repository: str, generation: int) -> str:
    """The pet's name for a repository and generation ("Mochi", "Mochi II")."""
    return generation_name(pet_name(repository), generation)


def _record(run: _Run, commit: Analysed) -> None:
    """Apply one analysed commit to the pet and keep its timeline entry."""
    run.pet = step_pet(run.pet, commit.delta, commit.committed_at)
    run.entries.append(commit_entry(commit, run.pet))
    run.languages.update(commit.lines_by_language)


async def replay(
    path: str | os.PathLike[str],
    *,
    branch: str | None = None,
    limit: int | None = None,
    since: str | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Replay a repository and return the ``--json`` document.

    ``jobs`` processes analyse commits side by side (default: one per core); the
    result is the same whatever their number. Raises ``NotAGitRepository`` or
    ``UnknownRevision`` (both ``SourceError``).
    """
    started = time.perf_counter()
    run = _Run()
    async with LocalGitSource(path) as source:
        shas = await source.list_first_parent(branch, limit, since)
        for commit in await analyse_all(source, shas, jobs or default_jobs(), progress):
            _record(run, commit)
    seconds = time.perf_counter() - started
    repository = repository_name(str(path))
    return {
        "repository": repository,
        "pet": pet_document(run, repository),
        "commits": run.entries,
        "stats": {
            "commits": len(run.entries),
            "seconds": round(seconds, 3),
            "commits_per_second": round(len(run.entries) / seconds, 2) if seconds > 0 else 0.0,
        },
    }


def sparkline(values: list[int], width: int = SPARK_WIDTH) -> str:
    """Health over time in block characters (0 → ▁, 100 → █), at most ``width`` wide."""
    if not values:
        return ""
    if len(values) > width:
        values = [values[i * len(values) // width] for i in range(width - 1)] + [values[-1]]
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round(max(0, min(100, v)) * top / 100)] for v in values)


def _top_reasons(entry: dict[str, Any]) -> str:
    """The most important reasons of a commit, as ``code +n``."""
    shown = [r for r in entry["reasons"] if r["points"]][:TOP_REASONS] or entry["reasons"][:1]
    return ", ".join(f"{r['code']} {r['points']:+d}" for r in shown)


def timeline_line(entry: dict[str, Any]) -> str:
    """``a1b2c3d 2024-05-01  +8 →  92 thriving   tests_added +8, docs_added +1``."""
    day = entry["committed_at"][:10]
    return (
        f"{entry['sha'][:7]} {day} {entry['delta']:+4d} → {entry['health']:3d} "
        f"{entry['state']:<9} {_top_reasons(entry)}"
    )


def format_timeline(doc: dict[str, Any]) -> str:
    """The human report: one line per commit, then the pet, its sparkline and the figures."""
    pet, stats = doc["pet"], doc["stats"]
    lines = [f"Tamagitto replay of {doc['repository']}: {stats['commits']} commits", ""]
    lines.extend(timeline_line(entry) for entry in doc["commits"])
    if not doc["commits"]:
        lines.append("(no commits: the pet has no history yet)")
    kind = species_type_for(pet["species"])
    lines += [
        "",
        f"{emoji_for(kind, pet['species'])} {pet['name']} the {pet['species']}: {pet['state']}, "
        f"health {pet['health']}, {pet['status']}, generation {pet['generation']}",
        f"health {sparkline([entry['health'] for entry in doc['commits']])}",
        f"{stats['commits']} commits in {stats['seconds']:.2f} s "
        f"({stats['commits_per_second']:.1f} commits/s)",
    ]
    return "\n".join(lines)


def species_type_for(subspecies: str) -> str:
    """The species type (pet, plant…) a sub-species belongs to, for its emoji."""
    return next((kind for kind, names in SUBSPECIES.items() if subspecies in names), "blob")
