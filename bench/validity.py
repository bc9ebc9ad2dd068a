#!/usr/bin/env python3
"""Does the score mean anything? Commit deltas against the bugs later fixes had to repair.

Each history is replayed, full first-parent chain, through the same code as
``tamagitto replay --json``. Labels come from an SZZ approximation:

* a first-parent commit is a *fix* when its message matches ``FIX_PATTERN``;
* the source lines a fix deletes or changes (not tests, docs, vendored,
  generated or lock files; blank lines ignored) are blamed with ``git blame -w
  --first-parent`` on the fix's parent;
* the commits blamed are *bug-inducing*.

Scored commits are those that add source lines, leaving out the newest
``RECENT_SHARE`` of each history (their bugs have not been found yet). On them we
report the ROC AUC of −delta (a lower delta should mean a likelier bug), the AUC
of source lines added (the size baseline, no model at all), and the
size-controlled AUC: the mean AUC of −delta inside quintiles of source lines
added. Over all commits we report the share at health 100, the median health,
the share of zero deltas, and the deaths, beside the deaths the seed's decay
alone gives (every delta set to 0).

    uv run python bench/validity.py            # every bundle in ../shared/histories/
    uv run python bench/validity.py --quick    # the two smallest bundles, under a minute
    uv run python bench/validity.py PATH...    # any local repositories
    uv run python bench/validity.py --record   # also write site/data/validity.json

Bundles are cloned once into ``bench/.cache/validity/``; labels are cached there
by head sha. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.analysis.hotspots import FIX_PATTERN  # noqa: E402
from app.analysis.languages import is_code_language, language_of  # noqa: E402
from app.analysis.paths import exclusion_reason, is_doc_path  # noqa: E402
from app.analysis.testing import is_test_path  # noqa: E402
from app.entities import decay_rules, rules  # noqa: E402
from app.jobs.replay import replay, step_pet  # noqa: E402

HISTORIES = ROOT.parent / "shared" / "histories"
CACHE = ROOT / "bench" / ".cache" / "validity"
RECORD = ROOT / "site" / "data" / "validity.json"  # what the site's scoring section shows
RECENT_SHARE = 0.2  # the newest fifth of each history is left out of the scored commits
BANDS = 5  # size-controlled AUC: quintiles of source lines added
QUICK_HISTORIES = 2
LABEL_VERSION = 1  # bump when the labelling changes, so cached labels are redone
BLAME_THREADS = 4
TARGETS = {"auc": 0.70, "auc_floor": 0.60, "size_controlled": 0.56, "at_max": 0.15}


@dataclass(frozen=True)
class History:
    """One repository to measure: its name and a local clone."""

    name: str
    path: Path


def git(path: Path, *args: str) -> str:
    """Run git in a repository and return its output (errors are replaced, never raised on)."""
    done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, check=True)
    return done.stdout.decode("utf-8", "replace")


def clone_bundles(names: Sequence[str] | None = None) -> list[History]:
    """Clone each shared bundle once into the cache (smallest first) and return them."""
    bundles = sorted(HISTORIES.glob("*.bundle"), key=lambda p: p.stat().st_size)
    histories = []
    for bundle in bundles:
        name = bundle.stem
        if names is not None and name not in names:
            continue
        target = CACHE / name
        if not (target / ".git").exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "clone", "-q", str(bundle), str(target)], check=True)
        histories.append(History(name.replace("+", "/"), target))
    return histories


def is_label_source(path: str) -> bool:
    """Source code a bug can live in: not tests, docs, vendored, generated or lock files."""
    if exclusion_reason(path) is not None or is_doc_path(path) or is_test_path(path):
        return False
    return is_code_language(language_of(path))


def first_parent_log(path: Path) -> list[tuple[str, str, bool]]:
    """Oldest-first (sha, first message line, has a parent) along the first-parent chain."""
    out = git(path, "log", "--first-parent", "--reverse", "--format=%H%x00%P%x00%B%x1e")
    entries = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, message = record.split("\x00", 2)
        entries.append((sha, message, bool(parents.strip())))
    return entries


HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def deleted_lines(path: Path, fix: str) -> dict[str, list[int]]:
    """Old line numbers of the non-blank source lines a fix deletes or changes, per file."""
    out = git(path, "diff", "-U0", "-w", "--no-color", "--no-renames", f"{fix}^1", fix)
    result: dict[str, list[int]] = {}
    current: str | None = None
    line = 0
    for text in out.splitlines():
        if text.startswith("--- "):
            old = text[4:]
            current = old[2:] if old.startswith("a/") and is_label_source(old[2:]) else None
        elif text.startswith("@@"):
            match = HUNK.match(text)
            line = int(match.group(1)) if match else 0
        elif current is not None and text.startswith("-") and not text.startswith("---"):
            if text[1:].strip():
                result.setdefault(current, []).append(line)
            line += 1
    return result


def _ranges(lines: list[int]) -> Iterable[tuple[int, int]]:
    """Consecutive line numbers folded into (first, last) ranges."""
    start = previous = lines[0]
    for number in lines[1:]:
        if number != previous + 1:
            yield start, previous
            start = number
        previous = number
    yield start, previous


def blamed(path: Path, fix: str) -> set[str]:
    """The first-parent commits that last touched the lines a fix deletes or changes."""
    shas: set[str] = set()
    for file, lines in deleted_lines(path, fix).items():
        spans = [f"-L{a},{b}" for a, b in _ranges(sorted(set(lines)))]
        try:
            out = git(path, "blame", "-w", "--first-parent", "--porcelain", *spans,
                      f"{fix}^1", "--", file)  # fmt: skip
        except subprocess.CalledProcessError:
            continue  # the file is not in the parent under this name (a rename or a copy)
        for text in out.splitlines():
            head = text.split(" ", 1)[0]
            if len(head) == 40 and all(c in "0123456789abcdef" for c in head):
                shas.add(head)
    return shas


def labels(history: History) -> dict[str, Any]:
    """Fix commits and bug-inducing commits of a history, cached by its head sha."""
    head = git(history.path, "rev-parse", "HEAD").strip()
    cache = CACHE / f"labels-{history.path.name}-{head[:12]}-v{LABEL_VERSION}.json"
    if cache.exists():
        return dict(json.loads(cache.read_text()))
    log = first_parent_log(history.path)
    fixes = [sha for sha, message, has_parent in log if has_parent and FIX_PATTERN.search(message)]
    with ThreadPoolExecutor(BLAME_THREADS) as pool:
        found = list(pool.map(lambda sha: blamed(history.path, sha), fixes))
    inducing = sorted(set().union(*found)) if found else []
    document = {"fixes": fixes, "inducing": inducing}
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(document))
    return document


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """ROC AUC (Mann–Whitney, ties count half); None without both classes."""
    pairs = sorted(zip(scores, positive, strict=True), key=lambda pair: pair[0])
    n_pos = sum(positive)
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2  # ranks i+1 … j share their mean
        rank_sum += mid_rank * sum(1 for _, label in pairs[i:j] if label)
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def banded_auc(rows: Sequence[dict[str, Any]], bands: int = BANDS) -> float | None:
    """Mean AUC of −delta inside equal-count bands of source lines added."""
    ordered = sorted(rows, key=lambda row: row["lines"])
    values = []
    for band in range(bands):
        part = ordered[band * len(ordered) // bands : (band + 1) * len(ordered) // bands]
        value = auc([-row["delta"] for row in part], [row["inducing"] for row in part])
        if value is not None:
            values.append(value)
    return statistics.fmean(values) if values else None


def deaths(commits: Sequence[dict[str, Any]], zero: bool = False) -> int:
    """How many times the pet dies over the replay (with every delta 0 when ``zero``)."""
    pet: rules.PetState | None = None
    count = 0
    for entry in commits:
        at = datetime.fromisoformat(entry["committed_at"])
        before = pet
        if pet is not None:
            settled = decay_rules.settle(pet, at)
            count += int(settled.dead and not pet.dead)
            before = settled
        pet = step_pet(before, 0 if zero else entry["delta"], at)
    return count


def measure(doc: dict[str, Any], labelled: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """The figures of one replayed history, and its scored rows for pooling."""
    commits = doc["commits"]
    inducing = set(labelled["inducing"])
    cutoff = int(len(commits) * (1 - RECENT_SHARE))
    rows = [
        {"delta": entry["delta"], "lines": entry["metrics"]["tests"]["source_lines_added"],
         "inducing": entry["sha"] in inducing}
        for entry in commits[:cutoff]
        if entry["metrics"]["tests"]["source_lines_added"] > 0
    ]  # fmt: skip
    figures = scored_figures(rows)
    healths = [entry["health"] for entry in commits]
    figures.update({
        "commits": len(commits),
        "fixes": len(labelled["fixes"]),
        "at_max": round(sum(h >= rules.MAX_HEALTH for h in healths) / max(len(healths), 1), 3),
        "median_health": statistics.median(healths) if healths else None,
        "zero_deltas": round(sum(e["delta"] == 0 for e in commits) / max(len(commits), 1), 3),
        "deaths": deaths(commits),
        "deaths_decay_only": deaths(commits, zero=True),
    })  # fmt: skip
    return figures, rows


def scored_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """AUCs on scored commits: −delta, the size baseline, and −delta within size bands."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    positive = [row["inducing"] for row in rows]
    return {
        "scored": len(rows),
        "inducing": sum(positive),
        "auc_delta": rounded(auc([-row["delta"] for row in rows], positive)),
        "auc_size": rounded(auc([row["lines"] for row in rows], positive)),
        "size_controlled": rounded(banded_auc(rows)),
    }


def pooled(results: Sequence[dict[str, Any]], rows: Sequence[Any], docs: Sequence[Any]) -> dict:
    """The figures over every history together."""
    figures = scored_figures(rows)
    healths = [entry["health"] for doc in docs for entry in doc["commits"]]
    deltas = [entry["delta"] for doc in docs for entry in doc["commits"]]
    figures.update({
        "commits": len(healths),
        "fixes": sum(r["fixes"] for r in results),
        "at_max": round(sum(h >= rules.MAX_HEALTH for h in healths) / max(len(healths), 1), 3),
        "median_health": statistics.median(healths) if healths else None,
        "zero_deltas": round(sum(d == 0 for d in deltas) / max(len(deltas), 1), 3),
        "deaths": sum(r["deaths"] for r in results),
        "deaths_decay_only": sum(r["deaths_decay_only"] for r in results),
    })  # fmt: skip
    return figures


COLUMNS = [
    ("history", "name", 24), ("scored", "scored", 6), ("bugs", "inducing", 5),
    ("AUC(-delta)", "auc_delta", 11), ("AUC(size)", "auc_size", 9),
    ("size-ctrl", "size_controlled", 9), ("at 100", "at_max", 6),
    ("median", "median_health", 6), ("zero Δ", "zero_deltas", 6), ("deaths", "deaths", 6),
    ("decay-only", "deaths_decay_only", 10),
]  # fmt: skip


def table_line(values: dict[str, Any]) -> str:
    """One row of the printed table."""
    cells = []
    for _, key, width in COLUMNS:
        value = values.get(key)
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        cells.append(text.ljust(width) if key == "name" else text.rjust(width))
    return " ".join(cells)


def verdict(total: dict[str, Any], results: Sequence[dict[str, Any]]) -> dict[str, bool]:
    """Which of the issue's targets the pooled figures meet."""
    floors = [r["auc_delta"] for r in results if r["auc_delta"] is not None]
    median = total["median_health"] or 0
    return {
        "auc": (total["auc_delta"] or 0) >= TARGETS["auc"],
        "auc_floor": bool(floors) and min(floors) >= TARGETS["auc_floor"],
        "size_controlled": (total["size_controlled"] or 0) >= TARGETS["size_controlled"],
        "at_max": total["at_max"] <= TARGETS["at_max"],
        "median_health": 50 <= median <= 90,
        "deaths": all(r["deaths"] <= r["deaths_decay_only"] for r in results),
    }


async def run(histories: Sequence[History], jobs: int | None, dump: bool) -> dict[str, Any]:
    """Replay and label every history; print the table; return the JSON document."""
    started = time.perf_counter()
    results, all_rows, docs = [], [], []
    print(table_line({key: head for head, key, _ in COLUMNS}))
    for history in histories:
        labelled = await asyncio.to_thread(labels, history)
        doc = await replay(history.path, jobs=jobs)
        figures, rows = measure(doc, labelled)
        figures["name"] = history.name
        print(table_line(figures), flush=True)
        results.append(figures)
        all_rows.extend(rows)
        docs.append(doc)
        if dump:
            slim = {"labels": labelled, "commits": doc["commits"]}
            (CACHE / f"dump-{history.path.name}.json").write_text(json.dumps(slim))
    total = pooled(results, all_rows, docs)
    total["name"] = "pooled"
    print(table_line(total))
    meets = verdict(total, results)
    print("targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in meets.items()))
    return {
        "bench": "validity",
        "seconds": round(time.perf_counter() - started, 1),
        "histories": results,
        "pooled": total,
        "targets_met": meets,
        "baseline": "source lines added (AUC of size)",
        "ratio": round((total["auc_delta"] or 0) / (total["auc_size"] or 1), 3),
    }


def main() -> int:
    """Parse arguments, run, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="local repositories (default: shared bundles)")
    parser.add_argument("--quick", action="store_true", help="the two smallest bundles only")
    parser.add_argument("--jobs", type=int, help="replay processes (default: one per core)")
    parser.add_argument("--only", action="append", help="bundle name(s), e.g. pallets+click")
    parser.add_argument("--dump", action="store_true", help="keep replays in bench/.cache")
    parser.add_argument(
        "--record", action="store_true",
        help=f"write the figures to {RECORD.relative_to(ROOT)} for the site (shared bundles only)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.paths:
        histories = [History(Path(p).resolve().name, Path(p).resolve()) for p in args.paths]
    else:
        histories = clone_bundles(args.only)
        if args.quick:
            histories = histories[:QUICK_HISTORIES]
    if not histories:
        print("no histories found", file=sys.stderr)
        return 2
    document = asyncio.run(run(histories, args.jobs, args.dump))
    if args.record and not args.paths and not args.quick and not args.only:
        record = {"date": datetime.now().date().isoformat(), **document}
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
