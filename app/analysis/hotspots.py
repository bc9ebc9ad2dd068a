"""Hotspots: files that earlier fixes had to touch, and what touching them costs.

A file that needed many fixes before is likely to need more: defect prediction
has used a file's fix history since Graves et al. (TSE 2000), and
`bench/validity.py` finds it adds to what size knows. Unlike every other
signal, this one depends on the repository's past, so it is applied after the
commit's own analysis, in commit order: `tamagitto replay` keeps the counts in
memory, the pipeline in the `file_fixes` table. A commit is a fix when its
message says so (the same words `bench/validity.py` labels fixes by); only the
fixes *before* a commit count for it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.analysis.scoring import (
    COMPLEXITY_WEIGHT,
    HOTSPOT_SIGNAL,
    HOTSPOT_SIGNAL_CAP,
    Reason,
    Score,
    round_points,
)

FIX_PATTERN = re.compile(r"\b(fix|fixes|fixed|bug|bugs|issue|regression|crash|broken)\b", re.I)


def is_fix(message: str) -> bool:
    """True when a commit message says it fixes something."""
    return FIX_PATTERN.search(message) is not None


@dataclass(frozen=True)
class Heat:
    """How often earlier fixes touched a commit's source files, and the hottest of them."""

    fixes: int = 0
    hottest: str | None = None
    hottest_fixes: int = 0


def heat_of(counts: Mapping[str, int], paths: Iterable[str]) -> Heat:
    """The earlier fixes of these paths, from per-path fix counts."""
    found = {path: counts.get(path, 0) for path in paths}
    found = {path: n for path, n in found.items() if n > 0}
    if not found:
        return Heat()
    hottest = max(sorted(found), key=lambda path: found[path])
    return Heat(sum(found.values()), hottest, found[hottest])


def hotspot_reason(heat: Heat) -> Reason | None:
    """Touching often-fixed files as a visible reason (None when it rounds to nothing)."""
    signal = min(HOTSPOT_SIGNAL * math.log2(1 + heat.fixes), HOTSPOT_SIGNAL_CAP)
    points = -round_points(COMPLEXITY_WEIGHT * signal)
    if points == 0 or heat.hottest is None:
        return None
    detail = (
        f"touches files fixed {heat.fixes} times before (most: {heat.hottest}, "
        f"{heat.hottest_fixes})"
    )
    return Reason("hotspot", points, detail)


def with_heat(score: Score, heat: Heat) -> Score:
    """The score with its hotspot reason added (reverts and poisoned commits stay as they are)."""
    reason = hotspot_reason(heat)
    if reason is None or score.poisoned or any(r.code == "revert" for r in score.reasons):
        return score
    moved = score.with_reason(reason)
    ordered = sorted(moved.reasons, key=lambda r: -abs(r.points))
    return Score(moved.quality_score, moved.delta, ordered, moved.poisoned)


class FixCounts(Counter[str]):
    """Per-path counts of fix commits, kept in commit order (replay's in-memory store)."""

    def heat(self, paths: Iterable[str]) -> Heat:
        """The earlier fixes of these paths."""
        return heat_of(self, paths)

    def record(self, message: str, paths: Iterable[str]) -> None:
        """Count a commit's source paths once more when the commit is a fix."""
        if is_fix(message):
            self.update(set(paths))
