"""Complexity of the source functions a commit touched, before and after.

Test code is left out: a long, flat test is fine, and a commit should not lose
health for adding tests.

A function is touched when it overlaps a hunk: its "after" version contains an
added line, or its "before" version contains a removed line. Each touched
function is paired with its other version by qualified name (then by simple
name across files, so a moved function is not a new one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app.analysis.files import FileView
from app.analysis.functions import FunctionSpan
from app.analysis.measure import FunctionMetrics
from app.analysis.parsing import ParsedBlob


@dataclass(frozen=True)
class FunctionChange:
    """One touched function, with its metrics before and after (None when absent)."""

    path: str
    name: str
    before: FunctionMetrics | None
    after: FunctionMetrics | None
    line: int = 0  # first line of the "after" version (0 when the function was removed)
    end_line: int = 0

    @property
    def cyclomatic_delta(self) -> int:
        """Change in cyclomatic complexity; an absent side counts as zero."""
        after = self.after.cyclomatic if self.after else 0
        before = self.before.cyclomatic if self.before else 0
        return after - before


@dataclass(frozen=True)
class ComplexityMetrics:
    """The complexity side of a commit."""

    functions: list[FunctionChange] = field(default_factory=list)
    functions_touched: int = 0
    complexity_increase: int = 0
    complexity_decrease: int = 0
    worst: FunctionChange | None = None
    files_parsed: int = 0
    parse_errors: int = 0


Pair = tuple[FunctionSpan | None, FunctionSpan | None]  # (before, after)


def _partner(
    span: FunctionSpan, pool: list[FunctionSpan], row: int, used: set[int]
) -> FunctionSpan | None:
    """The same-named function of the other version, preferring the one at the mapped row."""
    same = [other for other in pool if other.name == span.name and other.start_byte not in used]
    chosen = next((other for other in same if other.start_row == row), same[0] if same else None)
    if chosen is not None:
        used.add(chosen.start_byte)
    return chosen


def touched_pairs(view: FileView) -> list[Pair]:
    """Functions overlapping the hunks, each with its other version when there is one.

    Only the changed rows (and the rows the touched functions map to) are looked
    up in each tree; the counterpart is found by name near the mapped row.
    """
    before, after, diff = view.before, view.after, view.diff
    after_touched = after.functions_on(diff.added_rows) if after else []
    before_touched = before.functions_on(diff.removed_rows) if before else []
    before_rows = diff.removed_rows | {diff.old_row_of(s.start_row) for s in after_touched}
    after_rows = diff.added_rows | {diff.new_row_of(s.start_row) for s in before_touched}
    before_pool = before.functions_on(before_rows) if before else []
    after_pool = after.functions_on(after_rows) if after else []
    used_before: set[int] = set()
    used_after = {span.start_byte for span in after_touched}
    pairs: list[Pair] = []
    for span in after_touched:
        pairs.append(
            (_partner(span, before_pool, diff.old_row_of(span.start_row), used_before), span)
        )
    for span in before_touched:
        if span.start_byte not in used_before:
            used_before.add(span.start_byte)
            pairs.append(
                (span, _partner(span, after_pool, diff.new_row_of(span.start_row), used_after))
            )
    return pairs


def _metrics(parsed: ParsedBlob | None, span: FunctionSpan | None) -> FunctionMetrics | None:
    """Metrics of a span, when the span exists."""
    return None if parsed is None or span is None else parsed.metrics(span)


def _start(pair: Pair) -> int:
    """Where a pair sits: its "after" version, or its "before" when removed."""
    span = pair[1] or pair[0]
    return span.start_byte if span is not None else 0


def file_changes(view: FileView) -> list[FunctionChange]:
    """The touched functions of one file whose metrics changed, in source order."""
    changes = []
    pairs = sorted(touched_pairs(view), key=_start)
    if view.before is not None:
        view.before.measure_many([old for old, _ in pairs if old is not None])
    if view.after is not None:
        view.after.measure_many([new for _, new in pairs if new is not None])
    for old_span, new_span in pairs:
        old = _metrics(view.before, old_span)
        new = _metrics(view.after, new_span)
        span = new_span or old_span
        if old != new and span is not None:
            lines = (new_span.start_row + 1, new_span.end_row + 1) if new_span else (0, 0)
            changes.append(FunctionChange(view.path, span.name, old, new, *lines))
    return changes


def _simple(name: str) -> str:
    """The last component of a qualified name."""
    return name.rsplit(".", 1)[-1]


def pair_moves(changes: list[FunctionChange]) -> list[FunctionChange]:
    """Join a function removed from one file with one of the same name added to another."""
    removed: dict[str, list[int]] = defaultdict(list)
    for index, change in enumerate(changes):
        if change.after is None:
            removed[_simple(change.name)].append(index)
    consumed: set[int] = set()
    paired: list[tuple[int, FunctionChange]] = []
    for index, change in enumerate(changes):
        if change.before is None:
            candidates = removed.get(_simple(change.name), [])
            partner = next(
                (i for i in candidates if i not in consumed and changes[i].path != change.path),
                None,
            )
            if partner is not None:
                consumed.add(partner)
                change = replace(change, before=changes[partner].before)
        paired.append((index, change))
    return [change for index, change in paired if index not in consumed]


def measure_complexity(views: Sequence[FileView]) -> ComplexityMetrics:
    """Complexity increase, decrease and worst function over a commit's parsed files."""
    parsed = [v for v in views if v.is_source and (v.before is not None or v.after is not None)]
    changes = pair_moves([change for view in parsed for change in file_changes(view)])
    changes = [change for change in changes if change.before != change.after]
    increase = sum(max(0, change.cyclomatic_delta) for change in changes)
    decrease = sum(max(0, -change.cyclomatic_delta) for change in changes)
    present = [change for change in changes if change.after is not None]
    worst = max(
        present,
        key=lambda c: (c.after.cyclomatic, c.after.nesting) if c.after else (0, 0),
        default=None,
    )
    blobs = [blob for view in parsed for blob in (view.before, view.after) if blob is not None]
    return ComplexityMetrics(
        functions=changes,
        functions_touched=len(changes),
        complexity_increase=increase,
        complexity_decrease=decrease,
        worst=worst,
        files_parsed=len(parsed),
        parse_errors=sum(blob.has_error for blob in blobs),
    )
