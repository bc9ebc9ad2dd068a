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
from dataclasses import dataclass, field

from app.analysis.files import FileView
from app.analysis.parsing import FunctionMetrics, FunctionSpan, ParsedBlob


@dataclass(frozen=True)
class FunctionChange:
    """One touched function, with its metrics before and after (None when absent)."""

    path: str
    name: str
    before: FunctionMetrics | None
    after: FunctionMetrics | None

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


def _keyed(spans: Sequence[FunctionSpan]) -> dict[tuple[str, int], FunctionSpan]:
    """Spans keyed by (qualified name, occurrence), so overloads stay distinct."""
    seen: dict[str, int] = defaultdict(int)
    keyed: dict[tuple[str, int], FunctionSpan] = {}
    for span in spans:
        keyed[(span.name, seen[span.name])] = span
        seen[span.name] += 1
    return keyed


def _touched_keys(parsed: ParsedBlob | None, rows: frozenset[int]) -> set[tuple[str, int]]:
    """Keys of the functions of one version that overlap the given rows."""
    if parsed is None or not rows:
        return set()
    touched = {id(span) for span in parsed.overlapping(rows)}
    return {key for key, span in _keyed(parsed.functions).items() if id(span) in touched}


def _metrics(parsed: ParsedBlob | None, span: FunctionSpan | None) -> FunctionMetrics | None:
    """Metrics of a span, when the span exists."""
    return None if parsed is None or span is None else parsed.metrics(span)


def file_changes(view: FileView) -> list[FunctionChange]:
    """The touched functions of one file, paired by qualified name."""
    before, after = view.before, view.after
    before_spans = _keyed(before.functions) if before else {}
    after_spans = _keyed(after.functions) if after else {}
    touched = _touched_keys(before, view.diff.removed_rows) | _touched_keys(
        after, view.diff.added_rows
    )
    changes = []
    for key in sorted(touched, key=lambda k: (after_spans.get(k) or before_spans[k]).start_byte):
        old = _metrics(before, before_spans.get(key))
        new = _metrics(after, after_spans.get(key))
        if old != new:
            changes.append(FunctionChange(view.path, key[0], old, new))
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
                change = FunctionChange(
                    change.path, change.name, changes[partner].before, change.after
                )
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
