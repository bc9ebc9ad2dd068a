"""Analyse a long list of commits on every core, for replay.

Analysis is CPU-bound Python, so one process uses one core. Lanes claim runs of
consecutive commits (see `Claims`): this process from the oldest end, each
worker process from the newest, and they meet wherever the work balances, so a
core never waits for another while work is left. Each lane keeps its
own blob cache: the "after" of one commit is the "before" of the next within a
lane. A commit's result never depends on which lane analysed it (cached results
are keyed by content, and incremental parses equal full parses), so the pet
rules, applied afterwards in commit order, see the same deltas whatever `jobs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.context import BaseContext
from typing import Any

from app.analysis.commit import Commit
from app.analysis.engine import AnalysisResult, analyze_commit
from app.analysis.files import is_candidate
from app.analysis.gitlocal import LocalGitSource
from app.analysis.hotspots import Heat, is_fix, with_heat
from app.analysis.languages import grammar_of
from app.analysis.lint import PendingLint
from app.analysis.parsing import BlobCache
from app.analysis.scoring import Score, reason_dicts, revert_score, reverted_sha, score_from

LINT_AHEAD = 24  # most commits a lane claims: loaded together, linted by one ruff process
MIN_CLAIM = 4  # fewest commits a claim takes, unless fewer are left
MAX_DEFAULT_JOBS = 8  # more lanes mostly repeat each other's cold-cache work (--jobs overrides)
CACHE_ENTRIES = 2048  # parsed blobs and ruff findings a lane keeps

Counter = Callable[[int], object]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Analysed:
    """What the pet and the timeline need of one analysed commit: plain data that pickles."""

    sha: str
    committed_at: datetime
    message: str  # the first line only: what the timeline shows
    delta: int
    reasons: list[dict[str, Any]]
    metrics: dict[str, Any]
    lines_by_language: dict[str, int]
    reverts: str | None = None  # the (possibly abbreviated) sha a revert's message names
    fix: bool = False  # the message says it fixes something (hotspots count these)


def analysed(commit: Commit, result: AnalysisResult) -> Analysed:
    """Keep what the replay needs of a result (its trees and views stay behind)."""
    return Analysed(
        sha=commit.info.sha,
        committed_at=commit.info.committed_at,
        message=first_line(commit.info.message),
        delta=result.score.delta,
        reasons=reason_dicts(result.score),
        metrics=result.metrics_dict(),
        lines_by_language=dict(result.language.lines_by_language),
        reverts=reverted_sha(commit.info.message),
        fix=is_fix(commit.info.message),
    )


def as_revert(commit: Analysed, earlier: Analysed) -> Analysed:
    """A revert scored as the negative of the commit it reverts (see `scoring.revert_score`)."""
    return _with_score(commit, revert_score(_score_of(commit), earlier.sha, earlier.delta))


def _score_of(commit: Analysed) -> Score:
    """The commit's score rebuilt from its plain-data reasons."""
    poisoned = bool(commit.metrics.get("poisoned"))
    quality = float(commit.metrics.get("quality_score", 0.0))
    return score_from(quality, commit.delta, commit.reasons, poisoned)


def _with_score(commit: Analysed, score: Score) -> Analysed:
    """The commit with another score's delta and reasons."""
    return replace(commit, delta=score.delta, reasons=reason_dicts(score))


def heated(commit: Analysed, heat: Heat) -> Analysed:
    """The commit with its hotspot reason (see `hotspots.with_heat`)."""
    return _with_score(commit, with_heat(_score_of(commit), heat))


def source_paths(commit: Analysed) -> tuple[str, ...]:
    """The source files a commit changed, from its metrics document."""
    return tuple(commit.metrics.get("change", {}).get("paths", ()))


def adds_source(commit: Analysed) -> bool:
    """True when the commit adds at least one source line."""
    return bool(commit.metrics.get("change", {}).get("lines_added", 0))


def first_line(message: str) -> str:
    """A commit message's subject, the line people read in a one-line log."""
    return message.strip().split("\n", 1)[0].strip()


def default_jobs() -> int:
    """The cores this process may run on, at most `MAX_DEFAULT_JOBS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_JOBS))


def python_versions_of(commits: list[Commit]) -> list[tuple[str, bytes, str | None]]:
    """Every Python version the engine will lint in these commits (same selection rules)."""
    versions: list[tuple[str, bytes, str | None]] = []
    for commit in commits:
        for change in commit.files:
            if grammar_of(change.path) != "python" or not is_candidate(change):
                continue
            versions.extend(
                (change.path, content, sha)
                for content, sha in (
                    (change.before, change.before_blob),
                    (change.after, change.after_blob),
                )
                if content is not None
            )
    return versions


async def prepare(source: LocalGitSource, shas: list[str], cache: BlobCache) -> list[Commit]:
    """Load commits (git diffs read together) and lint their Python in one ruff run.

    Processes per chunk instead of per commit: their start-up costs more than a
    small commit's work. The engine then finds the findings cached.
    """
    commits = await source.get_commits(shas)
    versions = python_versions_of(commits)
    if versions:
        await asyncio.to_thread(lambda: PendingLint(cache, versions).result())
    return commits


class Claims:
    """Which commits are taken, shared by every process of a replay.

    The front lane takes from the oldest end, the others from the newest. A claim
    is big while much is left (one git and one ruff process serve many commits)
    and shrinks as the lanes close in, so none waits long for another at the end.
    """

    def __init__(self, total: int, lanes: int, context: BaseContext) -> None:
        self._ends = context.Array("i", [0, total])  # [first free, one past last free]
        self._done = context.Value("i", 0)
        self.lanes = lanes

    def _size(self, left: int) -> int:
        """How many commits the next claim takes."""
        return max(1, min(left, MIN_CLAIM), min(LINT_AHEAD, left // (2 * self.lanes)))

    def front(self) -> tuple[int, int] | None:
        """The oldest free commits as (start, end), or None when all are taken."""
        with self._ends.get_lock():
            first, last = self._ends[0], self._ends[1]
            if first >= last:
                return None
            self._ends[0] = first + self._size(last - first)
            return first, self._ends[0]

    def back(self) -> tuple[int, int] | None:
        """The newest free commits as (start, end), or None when all are taken."""
        with self._ends.get_lock():
            first, last = self._ends[0], self._ends[1]
            if first >= last:
                return None
            self._ends[1] = last - self._size(last - first)
            return self._ends[1], last

    def analysed(self, commits: int) -> int:
        """Count commits analysed by any lane; returns the total so far."""
        with self._done.get_lock():
            self._done.value += commits
            return int(self._done.value)


Take = Callable[[], "tuple[int, int] | None"]
Done = dict[int, list[Analysed]]  # first commit index of a claim → its commits' results


async def lane(source: LocalGitSource, shas: list[str], take: Take, count: Counter) -> Done:
    """Analyse claims one after another, loading and linting the next while one is analysed."""
    cache, done = BlobCache(CACHE_ENTRIES), Done()
    claim = take()
    if claim is None:
        return done
    upcoming = asyncio.ensure_future(prepare(source, shas[slice(*claim)], cache))
    try:
        while claim is not None:
            commits = await upcoming
            following = take()
            if following is not None:
                upcoming = asyncio.ensure_future(prepare(source, shas[slice(*following)], cache))
            results = []
            for commit in commits:
                result = await asyncio.to_thread(analyze_commit, commit, cache=cache)
                results.append(analysed(commit, result))
                count(1)
            done[claim[0]] = results
            claim = following
    finally:
        await _settle(upcoming)
    return done


async def _settle(task: asyncio.Future[list[Commit]]) -> None:
    """Stop a load still under way when its lane stops early, and wait until it has.

    Left running, it would go on using the git source its lane is about to close.
    """
    task.cancel()  # nothing happens to a finished one
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await task


_claims: Claims | None = None  # a worker process's view of the shared claims


def _init_worker(claims: Claims) -> None:
    """Worker start-up: keep the shared claims (they can only be inherited, not sent)."""
    global _claims
    _claims = claims


def worker_lane(path: str, shas: list[str]) -> Done:
    """Worker process entry point: a lane taking commits from the newest end."""
    claims = _claims
    assert claims is not None, "worker started without claims"
    return asyncio.run(_worker_lane(path, shas, claims))


async def _worker_lane(path: str, shas: list[str], claims: Claims) -> Done:
    """The worker's lane over its own git source."""
    async with LocalGitSource(path) as source:
        return await lane(source, shas, claims.back, claims.analysed)


def _context() -> BaseContext:
    """Fork when no other thread could hold a lock across it (quick start); else spawn.

    asyncio's child watcher leaves short-lived `waitpid` threads behind, which
    hold nothing a child could need.
    """
    others = [
        t for t in threading.enumerate()
        if t is not threading.current_thread() and not t.name.startswith("waitpid-")
    ]  # fmt: skip
    method = "fork" if not others and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def start_pool(workers: int, claims: Claims, context: BaseContext) -> ProcessPoolExecutor:
    """Worker processes, started now (before this process starts threads of its own)."""
    pool = ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=(claims,))
    pool.submit(os.getpid).result()  # fork-started pools launch every worker on first submit
    return pool


async def analyse_all(
    source: LocalGitSource, shas: list[str], jobs: int, progress: Progress | None = None
) -> list[Analysed]:
    """Every commit's analysis, in commit order, using up to `jobs` processes."""
    workers = max(0, min(jobs - 1, len(shas) // (2 * MIN_CLAIM) - 1))
    context = _context()
    claims = Claims(len(shas), workers + 1, context)

    shown = [0]  # the last total reported

    def count(commits: int) -> None:
        shown[0] = claims.analysed(commits)
        if progress is not None:
            progress(shown[0], len(shas))

    pool = start_pool(workers, claims, context) if workers else None
    loop = asyncio.get_running_loop()
    lanes = [asyncio.ensure_future(lane(source, shas, claims.front, count))]
    lanes += [
        asyncio.ensure_future(loop.run_in_executor(pool, worker_lane, source.path, shas))
        for _ in range(workers)
    ]
    try:
        done: Done = {}
        for found in await asyncio.gather(*lanes):
            done.update(found)
    except BaseException:
        for task in lanes:  # one lane failed: the others stop taking work
            task.cancel()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if progress is not None and shown[0] < len(shas):
        progress(len(shas), len(shas))  # the workers' last commits, counted after ours
    return [item for start in sorted(done) for item in done[start]]
