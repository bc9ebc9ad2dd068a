"""Replay a local repository's history through the same analysis and pet rules as production.

Commits are taken oldest first along the first-parent chain. Time is each
commit's own date, so decay between commits happens as it would have. A pet
that dies is revived at the first commit after its cooldown, as a person
adopting a new pet would (the next generation). The replay's clock stops at
the last commit.

The pet's name and sub-species come from the repository's identity, as in
production (where it is the GitHub id): here the root commit of the replayed
first-parent chain, so every clone of a repository gets the same pet whatever
its folder is called. The pet's life between commits (birth, the end of the
grace period, death, revival) is told as events, each computed from the pure
rules rather than inferred from health figures.

The pet decays as `decay:` in `.github/tamagitto.yml` at the replayed head says
(one setting for the whole replay, the one the repository has now; an invalid or
missing file gives the seed's decay), so a replay shows what production will do
from here on.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.analysis.commit import SourceError
from app.analysis.gitlocal import LocalGitSource
from app.analysis.hotspots import FixCounts
from app.analysis.lanes import (
    Analysed,
    Progress,
    adds_source,
    analyse_all,
    as_revert,
    default_jobs,
    heated,
    source_paths,
)
from app.entities import decay_rules, rules
from app.entities.species import (
    SUBSPECIES,
    emoji_for,
    generation_name,
    pet_name,
    roman,
    species_for,
)

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
TOP_REASONS = 2
MESSAGE_WIDTH = 40  # characters of a commit's first line shown in the timeline
NO_IDENTITY = 0  # the seed of a repository without commits (it has no root commit yet)

BIRTH = "birth"
HUNGRY = "hungry"
DEATH = "death"
REVIVAL = "revival"
EVENT_KINDS = (BIRTH, HUNGRY, DEATH, REVIVAL)


@dataclass
class _Run:
    """The state a replay carries from one commit to the next."""

    pet: rules.PetState | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)
    scored: dict[str, Analysed] = field(default_factory=dict)  # by sha, for reverts
    fixes: FixCounts = field(default_factory=FixCounts)  # per source path, for hotspots
    inverses: dict[str, Analysed] = field(default_factory=dict)  # inverse signature → commit
    decay: tuple[int, int] = (rules.GRACE_DAYS, rules.DECAY_PER_DAY)  # from `decay:` at head


def repository_name(path: str) -> str:
    """The folder name of the repository (`.git` suffix of bare clones dropped)."""
    name = os.path.basename(os.path.abspath(path).rstrip("/"))
    return name[:-4] if name.endswith(".git") and len(name) > 4 else name


def identity_of(root: str | None) -> int:
    """The number a replayed repository's pet is seeded with: its root commit's sha.

    Production seeds with the repository's GitHub id; a local clone has no id, but
    its root commit is the same in every clone, whatever the folder is called.
    """
    return NO_IDENTITY if root is None else int(root, 16)


async def root_commit(source: LocalGitSource, branch: str | None) -> str | None:
    """The oldest commit of the first-parent chain of `branch`, None when it has none."""
    head = await source.resolve(branch or "HEAD")
    if head is None:
        return None
    out = await source.git("rev-list", "--first-parent", "--max-parents=0", head)
    roots = out.decode().split()
    return roots[0] if roots else None


async def decay_setting(source: LocalGitSource, head: str | None) -> tuple[int, int]:
    """(grace_days, per_day) from `.github/tamagitto.yml` at `head`; the seed's without one."""
    # Imported here: repo_config loads the GitHub client (aiohttp), which building the CLI's
    # parser must not pay for (tests/foundation/test_cli.py keeps the parser light).
    from app.jobs.repo_config import CONFIG_PATH, parse_config

    if head is None:
        return rules.GRACE_DAYS, rules.DECAY_PER_DAY
    try:
        text = await source.git("cat-file", "blob", f"{head}:{CONFIG_PATH}")
    except SourceError:  # no such file at head
        return rules.GRACE_DAYS, rules.DECAY_PER_DAY
    config = parse_config(text)
    return config.grace_days, config.decay_per_day


def arrive(
    pet: rules.PetState | None,
    at: datetime,
    decay: tuple[int, int] = (rules.GRACE_DAYS, rules.DECAY_PER_DAY),
) -> rules.PetState:
    """The pet a commit at `at` meets: born, decayed, dead, or revived when allowed.

    `decay` is (grace_days, per_day) for a newborn; revived pets keep their parent's.
    """
    if pet is None:
        return rules.new_pet(at, 1, *decay)
    pet = decay_rules.settle(pet, at)
    expires = rules.cooldown_expires(pet)
    if pet.dead and expires is not None and at >= expires:
        return rules.revive(pet, at)
    return pet


def step_pet(pet: rules.PetState | None, delta: int, at: datetime) -> rules.PetState:
    """Settle decay and death up to `at`, revive when allowed, then apply the commit."""
    return rules.apply_commit(arrive(pet, at), delta, at)


def event(at: datetime, kind: str, detail: str, pet: rules.PetState) -> dict[str, Any]:
    """One event of the `--json` document: what happened to `pet` (as it is then)."""
    return {
        "at": at.isoformat(),
        "kind": kind,
        "detail": detail,
        "generation": pet.generation,
        "health": pet.health,
    }


def _plural(count: int, unit: str) -> str:
    """`1 day`, `3 days`."""
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def hungry_event(pet: rules.PetState, at: datetime) -> dict[str, Any] | None:
    """The end of the grace period before `at`, when decay starts, if it came before it."""
    if not decay_rules.decays(pet):
        return None
    starts = decay_rules.decay_base(pet)
    if starts >= at:
        return None
    quiet = (starts - (pet.last_commit_at or pet.born_at)) // rules.DAY
    detail = f"{_plural(quiet, 'day')} without a commit: hungry"
    return event(starts, HUNGRY, detail, decay_rules.settle(pet, starts))


def death_detail() -> str:
    """Why a pet dies: `dead after 24 h at 0`."""
    hours = rules.DEATH_AFTER // timedelta(hours=1)
    return f"dead after {hours} h at {rules.MIN_HEALTH}"


def events_before(
    pet: rules.PetState | None, met: rules.PetState, at: datetime
) -> list[dict[str, Any]]:
    """What happened to `pet` from its last commit until `met`, as a commit at `at` met it.

    Each event is read off the same rules `arrive` follows (the pet is settled at
    the event's own moment), so a timeline never says more or less than the rules did.
    """
    if pet is None:
        return [event(at, BIRTH, f"generation {roman(met.generation)} hatched", met)]
    found = [hungry_event(pet, at)]
    settled = decay_rules.settle(pet, at)
    if settled.dead and not pet.dead and settled.died_at is not None:
        found.append(event(settled.died_at, DEATH, death_detail(), settled))
    if met.generation != settled.generation:
        found.append(event(at, REVIVAL, f"generation {roman(met.generation)} hatched", met))
    return [item for item in found if item is not None]


def commit_entry(commit: Analysed, pet: rules.PetState, met: rules.PetState) -> dict[str, Any]:
    """One commit of the `--json` document; `met` is the pet just before it applied.

    `applied` is what health really moved by: it differs from `delta` at the
    0/100 clamp and on a dead pet.
    """
    return {
        "sha": commit.sha,
        "committed_at": commit.committed_at.isoformat(),
        "message": commit.message,
        "delta": commit.delta,
        "applied": pet.health - met.health,
        "health": pet.health,
        "state": rules.visual_state(pet),
        "reasons": commit.reasons,
        "metrics": commit.metrics,
    }


def pet_document(run: _Run, identity: int) -> dict[str, Any]:
    """The pet at the end of the replay (a newborn when there was no commit)."""
    language = run.languages.most_common(1)[0][0] if run.languages else None
    _, subspecies = species_for(language, identity)
    pet = run.pet
    generation = pet.generation if pet else 1
    return {
        "name": generation_name(pet_name(identity), generation),  # "Mochi", "Mochi II"
        "species": subspecies,
        "health": pet.health if pet else rules.MAX_HEALTH,
        "state": rules.visual_state(pet) if pet else rules.THRIVING,
        "status": pet.status if pet else rules.ALIVE,
        "generation": generation,
    }


def resolve_revert(run: _Run, commit: Analysed) -> Analysed:
    """A revert of an earlier replayed commit gives back that commit's delta.

    A revert is named by its message ("This reverts commit X", git's wording) or is the
    exact inverse of an earlier commit's line changes.
    """
    change = commit.metrics.get("change", {})
    earlier = run.inverses.get(change.get("signature") or "\0")
    if commit.reverts is not None:
        earlier = run.scored.get(commit.reverts) or next(
            (c for sha, c in run.scored.items() if sha.startswith(commit.reverts)), earlier
        )
    if change.get("inverse"):
        run.inverses.setdefault(change["inverse"], commit)
    return commit if earlier is None else as_revert(commit, earlier)


def resolve_history(run: _Run, commit: Analysed) -> Analysed:
    """What the repository's past adds to a commit: a revert's give-back, then hotspots.

    Only fixes before this commit count for it; it is counted itself afterwards.
    """
    commit = resolve_revert(run, commit)
    paths = source_paths(commit)
    if adds_source(commit):
        commit = heated(commit, run.fixes.heat(paths))
    if commit.fix:
        run.fixes.update(set(paths))
    return commit


def _record(run: _Run, commit: Analysed) -> None:
    """Apply one analysed commit to the pet; keep what happened before it, and its entry."""
    commit = resolve_history(run, commit)
    run.scored[commit.sha] = commit
    at = commit.committed_at
    met = arrive(run.pet, at, run.decay)
    run.events.extend(events_before(run.pet, met, at))
    run.pet = rules.apply_commit(met, commit.delta, at)
    run.entries.append(commit_entry(commit, run.pet, met))
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
    """Replay a repository and return the `--json` document.

    `jobs` processes analyse commits side by side (default: one per core); the
    result is the same whatever their number. Raises `NotAGitRepository` or
    `UnknownRevision` (both `SourceError`).
    """
    started = time.perf_counter()
    run = _Run()
    async with LocalGitSource(path) as source:
        shas = await source.list_first_parent(branch, limit, since)
        root = await root_commit(source, branch)
        run.decay = await decay_setting(source, await source.resolve(branch or "HEAD"))
        for commit in await analyse_all(source, shas, jobs or default_jobs(), progress):
            _record(run, commit)
    seconds = time.perf_counter() - started
    return {
        "repository": repository_name(str(path)),
        "root_commit": root,
        "pet": pet_document(run, identity_of(root)),
        "commits": run.entries,
        "events": run.events,
        "stats": {
            "commits": len(run.entries),
            "seconds": round(seconds, 3),
            "commits_per_second": round(len(run.entries) / seconds, 2) if seconds > 0 else 0.0,
        },
    }


def sparkline(values: list[int], width: int = SPARK_WIDTH) -> str:
    """Health over time in block characters (0 → ▁, 100 → █), at most `width` wide."""
    if not values:
        return ""
    if len(values) > width:
        values = [values[i * len(values) // width] for i in range(width - 1)] + [values[-1]]
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round(max(0, min(100, v)) * top / 100)] for v in values)


def _top_reasons(entry: dict[str, Any]) -> str:
    """The most important reasons of a commit, as `code +n`."""
    shown = [r for r in entry["reasons"] if r["points"]][:TOP_REASONS] or entry["reasons"][:1]
    return ", ".join(f"{r['code']} {r['points']:+d}" for r in shown)


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    """`text` in at most `width` characters, so timeline columns stay aligned.

    The cut falls between words when one ends in the second half, and an
    ellipsis shows that something was left out.
    """
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def timeline_line(entry: dict[str, Any]) -> str:
    """`a1b2c3d 2024-05-01   +8 →  92 thriving  Add tests for area   tests_added +8`."""
    day = entry["committed_at"][:10]
    return (
        f"{entry['sha'][:7]} {day} {entry['delta']:+4d} → {entry['health']:3d} "
        f"{entry['state']:<9} {shorten(entry.get('message', '')):<{MESSAGE_WIDTH}}  "
        f"{_top_reasons(entry)}"
    ).rstrip()


def event_line(item: dict[str, Any]) -> str:
    """`      » 2024-05-04        92 hungry    3 days without a commit: hungry`."""
    day, health = item["at"][:10], item["health"]
    return f"{'»':>7} {day} {'':4}   {health:3d} {item['kind']:<9} {item['detail']}"


def timeline_lines(doc: dict[str, Any]) -> list[str]:
    """Commits and events in the order they happened to the pet.

    Events come before the commit that followed them; a document without events
    (written before they existed) gives commits only.
    """
    events: list[dict[str, Any]] = doc.get("events", [])
    lines, shown = [], 0
    for entry in doc["commits"]:
        committed = datetime.fromisoformat(entry["committed_at"])
        while shown < len(events) and datetime.fromisoformat(events[shown]["at"]) <= committed:
            lines.append(event_line(events[shown]))
            shown += 1
        lines.append(timeline_line(entry))
    return lines + [event_line(item) for item in events[shown:]]


def format_timeline(doc: dict[str, Any]) -> str:
    """The human report: one line per commit and event, then the pet, sparkline and figures."""
    pet, stats = doc["pet"], doc["stats"]
    lines = [f"Tamagitto replay of {doc['repository']}: {stats['commits']} commits", ""]
    lines.extend(timeline_lines(doc))
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
