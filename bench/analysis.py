#!/usr/bin/env python3
"""Replay throughput: Tamagitto's analysis against lizard alone, in the same run.

``ours`` is the full replay (git reads, parsing, every metric family, ruff, scoring
and the pet rules), timed end to end. ``lizard`` is the floor: lizard alone over the
same file versions our replay analysed deeply, before and after each changed file,
read from memory beforehand, with no scoring. Our replay runs as shipped, one
process per core (``--jobs`` sets it; lizard uses one). Both are reported in
commits per second of wall time (best of ``--repeat`` alternating runs);
``cpu_ratio`` compares CPU seconds including child processes (our workers, git,
ruff): what one core would give, and less disturbed by a busy machine.

    uv run python bench/analysis.py [PATH] [N]   # the last N commits (default 200) of PATH
                                                 # (default: this repository)
    uv run python bench/analysis.py PATH --quick # at most 40 commits, one run: under a minute

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lizard  # noqa: E402

from app.analysis.gitlocal import LocalGitSource  # noqa: E402
from app.analysis.lanes import default_jobs  # noqa: E402
from app.jobs.replay import replay  # noqa: E402

DEFAULT_COMMITS = 200
QUICK_COMMITS = 40
DEFAULT_REPEATS = 3

Version = tuple[str, str]  # (path, text)


async def file_versions(path: str, limit: int) -> list[list[Version]]:
    """For each commit, the before and after text of the files analysed deeply."""
    async with LocalGitSource(path) as source:
        shas = await source.list_first_parent(limit=limit)
        commits = await source.get_commits(shas)
    per_commit = []
    for commit in commits:
        versions = []
        for change in commit.files:
            for content in (change.before, change.after):
                if content is not None and lizard.get_reader_for(change.path):
                    versions.append((change.path, content.decode("utf-8", "replace")))
        per_commit.append(versions)
    return per_commit


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (git, ruff)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    work()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def lizard_pass(per_commit: list[list[Version]]) -> None:
    """Lizard over every version, one file at a time, like a per-commit job would."""
    for versions in per_commit:
        for name, text in versions:
            lizard.analyze_file.analyze_source_code(name, text)


def replay_pass(path: str, limit: int, jobs: int) -> int:
    """A full replay (fresh caches); returns the number of commits."""
    return len(asyncio.run(replay(path, limit=limit, jobs=jobs))["commits"])


def rate(commits: int, seconds: float) -> float:
    """Commits per second, rounded for the report."""
    return round(commits / seconds, 2) if seconds > 0 else 0.0


def run(path: str, limit: int, repeats: int, jobs: int) -> dict[str, Any]:
    """Load the versions (warming git's caches for both), then alternate the two sides.

    The best of ``repeats`` runs is kept for each side: on a shared machine the
    fastest run is the one least disturbed by other work.
    """
    per_commit = asyncio.run(file_versions(path, limit))
    commits = len(per_commit)
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    for _ in range(repeats):
        ours.append(measure(lambda: replay_pass(path, limit, jobs)))
        floor.append(measure(lambda: lizard_pass(per_commit)))
    (ours_wall, ours_cpu), (lizard_wall, lizard_cpu) = min(ours), min(floor)
    return {
        "repository": Path(path).resolve().name,
        "commits": commits,
        "file_versions": sum(len(v) for v in per_commit),
        "repeats": repeats,
        "jobs": jobs,
        "ours_seconds": round(ours_wall, 3),
        "lizard_seconds": round(lizard_wall, 3),
        "ours_cpu_seconds": round(min(c for _, c in ours), 3),
        "lizard_cpu_seconds": round(min(c for _, c in floor), 3),
        "ours_commits_per_s": rate(commits, ours_wall),
        "lizard_commits_per_s": rate(commits, lizard_wall),
        "ratio": round(lizard_wall / ours_wall, 2) if ours_wall else None,
        "cpu_ratio": round(lizard_cpu / ours_cpu, 2) if ours_cpu else None,
    }


def main() -> int:
    """Parse arguments, run, print a summary and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(ROOT),
                        help="a local git repository (default: this one)")  # fmt: skip
    parser.add_argument("n", nargs="?", type=int, default=DEFAULT_COMMITS, help="commits")
    parser.add_argument("--quick", action="store_true",
                        help=f"at most {QUICK_COMMITS} commits, one run per side")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEATS, help="runs per side")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="processes our replay may use (default: one per core)")  # fmt: skip
    args = parser.parse_args()
    limit = min(args.n, QUICK_COMMITS) if args.quick else args.n
    figures = run(args.path, limit, 1 if args.quick else max(1, args.repeat), max(1, args.jobs))
    print(f"{figures['repository']}: {figures['commits']} commits, "
          f"{figures['file_versions']} file versions", file=sys.stderr)  # fmt: skip
    for side in ("ours", "lizard"):
        seconds, speed = figures[f"{side}_seconds"], figures[f"{side}_commits_per_s"]
        cpu = figures[f"{side}_cpu_seconds"]
        print(f"  {side:<6} {seconds:8.2f} s  {speed:8.2f} commits/s  (CPU {cpu:.2f} s)",
              file=sys.stderr)  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
