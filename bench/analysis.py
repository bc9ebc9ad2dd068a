#!/usr/bin/env python3
"""Replay throughput: Tamagitto's analysis against lizard alone, in the same run.

``ours`` is the full replay (git reads, parsing, every metric family, scoring and the
pet rules), timed end to end. ``lizard`` is the floor: lizard alone over the same
file versions our replay analysed deeply, before and after each changed file, read
from memory beforehand, with no scoring. Both are reported in commits per second.

    uv run python bench/analysis.py PATH [N]     # the last N commits (default 200)
    uv run python bench/analysis.py PATH --quick # at most 40 commits, under a minute

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lizard  # noqa: E402

from app.analysis.gitlocal import LocalGitSource  # noqa: E402
from app.analysis.replay import replay  # noqa: E402

DEFAULT_COMMITS = 200
QUICK_COMMITS = 40

Version = tuple[str, str]  # (path, text)


async def file_versions(path: str, limit: int) -> list[list[Version]]:
    """For each commit, the before and after text of the files analysed deeply."""
    async with LocalGitSource(path) as source:
        shas = await source.list_first_parent(limit=limit)
        commits = [await source.get_commit(sha) for sha in shas]
    per_commit = []
    for commit in commits:
        versions = []
        for change in commit.files:
            for content in (change.before, change.after):
                if content is not None and lizard.get_reader_for(change.path):
                    versions.append((change.path, content.decode("utf-8", "replace")))
        per_commit.append(versions)
    return per_commit


def time_lizard(per_commit: list[list[Version]]) -> float:
    """Seconds lizard takes over every version, one file at a time, like a per-commit job."""
    started = time.perf_counter()
    for versions in per_commit:
        for name, text in versions:
            lizard.analyze_file.analyze_source_code(name, text)
    return time.perf_counter() - started


def time_ours(path: str, limit: int) -> tuple[float, int]:
    """Seconds and commits of a full replay."""
    started = time.perf_counter()
    doc = asyncio.run(replay(path, limit=limit))
    return time.perf_counter() - started, len(doc["commits"])


def rate(commits: int, seconds: float) -> float:
    """Commits per second, rounded for the report."""
    return round(commits / seconds, 2) if seconds > 0 else 0.0


def run(path: str, limit: int) -> dict[str, Any]:
    """Load versions (warming git's caches for both), then time ours and lizard."""
    per_commit = asyncio.run(file_versions(path, limit))
    ours_seconds, commits = time_ours(path, limit)
    lizard_seconds = time_lizard(per_commit)
    ours, floor = rate(commits, ours_seconds), rate(len(per_commit), lizard_seconds)
    return {
        "repository": Path(path).resolve().name,
        "commits": commits,
        "file_versions": sum(len(v) for v in per_commit),
        "ours_seconds": round(ours_seconds, 3),
        "lizard_seconds": round(lizard_seconds, 3),
        "ours_commits_per_s": ours,
        "lizard_commits_per_s": floor,
        "ratio": round(ours / floor, 2) if floor else None,
    }


def main() -> int:
    """Parse arguments, run, print a summary and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a local git repository")
    parser.add_argument("n", nargs="?", type=int, default=DEFAULT_COMMITS, help="commits")
    parser.add_argument("--quick", action="store_true", help=f"at most {QUICK_COMMITS} commits")
    args = parser.parse_args()
    limit = min(args.n, QUICK_COMMITS) if args.quick else args.n
    figures = run(args.path, limit)
    print(f"{figures['repository']}: {figures['commits']} commits, "
          f"{figures['file_versions']} file versions", file=sys.stderr)  # fmt: skip
    for side in ("ours", "lizard"):
        seconds, speed = figures[f"{side}_seconds"], figures[f"{side}_commits_per_s"]
        print(f"  {side:<6} {seconds:8.2f} s  {speed:8.2f} commits/s", file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
