"""The health forecast of a pull request: the pet's health if it merged now.

Each commit of the pull request is scored exactly as a push of it to the base branch would
score it: analysed with the config at that commit (`pipeline.analysis_row`), its past counted
by `commit_history.history_score` (reverts, hotspots) with the pull request's earlier commits
counted as applied before it, then applied in order by the pet's own rules
(`rules.apply_commit`) to its health now. A commit the pet counted already (it reached a
monitored branch) counts nothing, as on merge. Nothing is written: a pull request never
changes the pet. Fork pull requests are read through the base repository, where the App is
installed (GitHub keeps their commits there), so no token of the fork is needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gidgethub.abc import GitHubAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analysis.engine import analyze_commit as analyze
from app.analysis.source import GitHubCommitSource
from app.core.models import CommitAnalysis
from app.entities import rules
from app.entities.decay_rules import settle
from app.entities.lifecycle import current_pet
from app.entities.pet_rows import pet_state
from app.entities.species import emoji_for
from app.infra.github import LRUCache
from app.jobs.annotations import head_findings, stored_findings
from app.jobs.apply import Analysed, Target
from app.jobs.commit_history import fixed_paths, history_score, settle_row
from app.jobs.pipeline import analysis_row
from app.jobs.repo_config import load_config

MAX_PR_COMMITS = 250  # GitHub lists at most this many commits of a pull request
PAGE = 100
WORST_FUNCTIONS = 5
_analysed = LRUCache(maxsize=512)  # (repository, sha, ignore globs) -> stored analysis


@dataclass(frozen=True)
class PullRef:
    """The pull request head a forecast is for."""

    repository_id: int
    full_name: str
    installation_id: int
    number: int
    head_sha: str
    base_ref: str


@dataclass(frozen=True)
class CommitForecast:
    """One commit of the pull request: its delta, what it would apply, and why."""

    sha: str
    title: str
    delta: int
    applied: int
    reasons: tuple[Mapping[str, Any], ...]
    counted: bool = False  # the pet counted it already: it applies nothing on merge
    secret: bool = False


@dataclass(frozen=True)
class Forecast:
    """The pet now and after the merge, commit by commit."""

    pet_name: str
    emoji: str
    before: int
    after: int
    dead: bool
    commits: tuple[CommitForecast, ...]
    worst: tuple[Mapping[str, Any], ...]
    findings: tuple[Mapping[str, Any], ...]
    truncated: bool = False
    review_skipped: bool = False

    @property
    def delta(self) -> int:
        """The health the merge would move the pet by."""
        return self.after - self.before

    @property
    def secret(self) -> bool:
        """Does a commit add a real-looking secret?"""
        return any(commit.secret for commit in self.commits)

    def digest(self) -> str:
        """What a comment shows, hashed: it is edited only when this changes."""
        shown = [self.before, self.after, [(c.sha, c.delta, c.applied) for c in self.commits]]
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()


async def pr_commits(gh: GitHubAPI, full_name: str, number: int) -> tuple[list[str], bool]:
    """The pull request's commits, oldest first, and whether GitHub's 250 cut the list."""
    shas: list[str] = []
    for page in range(1, MAX_PR_COMMITS // PAGE + 2):
        items = await gh.getitem(
            "/repos/{+full_name}/pulls/{number}/commits{?per_page,page}",
            url_vars={
                "full_name": full_name,
                "number": str(number),
                "per_page": str(PAGE),
                "page": str(page),
            },
        )
        shas.extend(str(item["sha"]) for item in items)
        if len(items) < PAGE:
            break
    return shas[:MAX_PR_COMMITS], len(shas) >= MAX_PR_COMMITS


async def analysed(gh: GitHubAPI, pull: PullRef, sha: str) -> tuple[Analysed, frozenset[str]]:
    """One commit analysed as the pipeline would (a fresh row each call: history settles it
    in place), with every path it changed; analyses are kept per process by sha."""
    config = await load_config(gh, pull.full_name, sha)
    key = f"{pull.repository_id}:{sha}:{json.dumps(config.ignore)}"
    try:
        stored, paths = _analysed[key]
        return Analysed.load(stored), paths
    except KeyError:
        pass
    owner, name = pull.full_name.split("/", 1)
    commit = await GitHubCommitSource(gh, owner, name).get_commit(sha)
    result = await asyncio.to_thread(analyze, commit, ignore=config.ignore, annotate=True)
    target = Target(pull.repository_id, pull.full_name, pull.installation_id)
    item = Analysed(analysis_row(target, commit, result, result.score), config)
    paths = frozenset(change.path for change in commit.files)
    _analysed[key] = (item.stored(), paths)
    return Analysed.load(item.stored()), paths


async def counted_shas(session: AsyncSession, repository_id: int, shas: Sequence[str]) -> set[str]:
    """Commits the pet has counted already."""
    if not shas:
        return set()
    found = await session.scalars(
        select(CommitAnalysis.sha).where(
            CommitAnalysis.repository_id == repository_id, CommitAnalysis.sha.in_(list(shas))
        )
    )
    return set(found.all())


async def settle_in_order(session: AsyncSession, rows: Sequence[CommitAnalysis]) -> None:
    """Count each row's past as its merge would: earlier rows of the list as applied."""
    pending: list[CommitAnalysis] = []
    fixes: Counter[str] = Counter()
    for row in rows:
        settle_row(row, await history_score(session, row, pending, fixes))
        fixes.update(set(fixed_paths(row)))
        pending.append(row)


def worst_functions(rows: Sequence[CommitAnalysis]) -> tuple[Mapping[str, Any], ...]:
    """The functions whose burden grew most over the pull request."""
    grew: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        for entry in ((row.detail or {}).get("complexity") or {}).get("functions") or []:
            key = (str(entry.get("path")), str(entry.get("name")))
            total = grew.get(key, {}).get("burden_delta", 0.0) + float(entry["burden_delta"])
            grew[key] = {**entry, "burden_delta": round(total, 1)}
    ranked = sorted(grew.values(), key=lambda e: -float(e["burden_delta"]))
    return tuple(e for e in ranked if float(e["burden_delta"]) > 0)[:WORST_FUNCTIONS]


def _title(row: CommitAnalysis) -> str:
    """The commit message's first line."""
    return (row.message or "").splitlines()[0][:120] if row.message else ""


def _secret(row: CommitAnalysis) -> bool:
    return any(r.get("code") == "secret_committed" for r in row.reasons or [])


async def start_state(session: AsyncSession, repository_id: int, now: datetime) -> Any:
    """The pet as a commit would find it now (decay owed charged), and its look."""
    pet = await current_pet(session, repository_id)
    if pet is None:
        return rules.new_pet(now), "a new pet", emoji_for("blob", None)
    return settle(pet_state(pet), now), pet.name, emoji_for(pet.species, pet.subspecies)


def project(
    state: rules.PetState, rows: Sequence[CommitAnalysis], counted: set[str], now: datetime
) -> tuple[rules.PetState, list[CommitForecast]]:
    """Apply the rows in order to the pet; each commit's forecast line."""
    lines = []
    for row in rows:
        if row.sha in counted:
            lines.append(CommitForecast(row.sha, _title(row), row.health_delta, 0, (), True))
            continue
        after = rules.apply_commit(state, row.health_delta, now)
        applied = after.health - state.health
        reasons = tuple(row.reasons or ())
        lines.append(
            CommitForecast(
                row.sha, _title(row), row.health_delta, applied, reasons, False, _secret(row)
            )
        )
        state = after
    return state, lines


async def forecast(
    gh: GitHubAPI, session: AsyncSession, pull: PullRef, review: bool = False
) -> Forecast:
    """Analyse the pull request's commits and apply them, on paper, to the pet now."""
    shas, truncated = await pr_commits(gh, pull.full_name, pull.number)
    counted = await counted_shas(session, pull.repository_id, shas)
    rows: list[CommitAnalysis] = []
    changed: list[tuple[frozenset[str], Sequence[Mapping[str, Any]]]] = []
    for sha in shas:
        item, paths = await analysed(gh, pull, sha)
        rows.append(item.row)
        changed.append((paths, [] if sha in counted else stored_findings(item.row.detail)))
    fresh = [row for row in rows if row.sha not in counted]
    await settle_in_order(session, fresh)
    now = datetime.now(UTC)
    state, name, emoji = await start_state(session, pull.repository_id, now)
    end, lines = project(state, rows, counted, now)
    return Forecast(
        pet_name=name,
        emoji=emoji,
        before=state.health,
        after=end.health,
        dead=state.dead,
        commits=tuple(lines),
        worst=worst_functions(fresh),
        findings=tuple(head_findings(changed)),
        truncated=truncated,
        review_skipped=review,
    )
