"""Line-level findings of one commit: the lines that cost health, and why, for annotations.

The metric families count problems; this module points at them, over the same file views and
the same ruff findings, so every finding is one of the problems the score counted. It runs
only when asked (`analyze_commit(..., annotate=True)`): replays and benchmarks that only need
the score skip it. Each finding carries its share of the delta's points, so a check run can
show the costliest lines first. Secrets are named by kind and redacted description only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.files import FileView
from app.analysis.lint import Findings
from app.analysis.measure import FunctionMetrics
from app.analysis.parsing import blob_key
from app.analysis.scoring import (
    BURDEN_SCALE,
    CC_ALLOWANCE,
    COMPLEXITY_FLOOR,
    COMPLEXITY_WEIGHT,
    LENGTH_ALLOWANCE,
    LINT_DENSITY_SCALE,
    LINT_FLOOR,
    LINT_WEIGHT,
    NESTING_ALLOWANCE,
    POSSIBLE_SECRET_POINTS,
    RISKY_CALL_POINTS,
    SECRET_POINTS,
)
from app.analysis.security import SecurityMetrics
from app.analysis.signals import burden_delta
from app.analysis.style import (
    DEBUG_RULES,
    LONG_LINE,
    TAB_WIDTH,
    TODO_MARKER,
    StyleMetrics,
    introduced_ruff,
)
from app.analysis.style import _is_leftover as is_leftover

BURDEN = "burden"
LINT = "lint"
RISKY = "risky"
SECRET = "secret"
POSSIBLE_SECRET = "possible_secret"
# Findings worth a warning; the rest are notices.
WARNINGS = frozenset({BURDEN, RISKY, SECRET})


@dataclass(frozen=True)
class LineFinding:
    """One place in the commit's "after" files that cost health."""

    path: str
    line: int
    end_line: int
    kind: str
    title: str
    message: str
    points: float  # this finding's share of the points lost, for ordering


def _figures(before: FunctionMetrics | None, after: FunctionMetrics) -> str:
    """`cyclomatic 4 → 9, nesting 2 → 5, 30 → 75 lines` (a new function: its figures)."""
    if before is None:
        return f"cyclomatic {after.cyclomatic}, nesting {after.nesting}, {after.length} lines"
    return (
        f"cyclomatic {before.cyclomatic} → {after.cyclomatic}, nesting {before.nesting} → "
        f"{after.nesting}, {before.length} → {after.length} lines"
    )


def _burden(change: FunctionChange, lines_added: int) -> LineFinding | None:
    """A function whose burden grew, with its figures and its share of the burden points."""
    grew = burden_delta(change)
    if grew <= 0 or change.after is None or change.line <= 0:
        return None
    points = COMPLEXITY_WEIGHT * BURDEN_SCALE * grew / max(lines_added, COMPLEXITY_FLOOR)
    message = (
        f"{change.name}: burden +{grew:.1f} ({_figures(change.before, change.after)}). "
        f"Burden counts each branch past cyclomatic {CC_ALLOWANCE}, nesting past "
        f"{NESTING_ALLOWANCE} and length past {LENGTH_ALLOWANCE} lines."
    )
    end = max(change.line, change.end_line)
    return LineFinding(
        change.path, change.line, end, BURDEN, f"Burden +{grew:.1f}: {change.name}", message, points
    )


def burden_findings(complexity: ComplexityMetrics, lines_added: int) -> list[LineFinding]:
    """Every touched function whose burden grew."""
    found = (_burden(change, lines_added) for change in complexity.functions)
    return [finding for finding in found if finding is not None]


def _ruff_lines(view: FileView, findings: dict[str, Findings]) -> Iterator[tuple[int, str]]:
    """Added lines carrying the ruff findings this commit introduced (per rule, the excess)."""
    if view.after is None or view.grammar != "python":
        return
    excess = introduced_ruff(view, findings)
    added = {number for number, _ in view.diff.added}
    after = findings.get(blob_key(view.after.source, view.change.after_blob), ())
    for line, code in after:
        if line in added and excess.get(code, 0) > 0:
            excess[code] -= 1
            yield line, f"`{code}` (ruff): a new lint finding on this line"


def _debug_line(view: FileView, number: int, text: str) -> bool:
    """A left-in debug statement, by the same rule and checks the style family counts."""
    rule = None if view.is_test else DEBUG_RULES.get(view.language or "")
    if rule is None or not any(hint in text for hint in rule[0]):
        return False
    match = rule[1].search(text)
    return match is not None and is_leftover(view, number, text, match)


def _line_problems(view: FileView, todos: int) -> Iterator[tuple[int, str]]:
    """Line checks on added lines: long lines, trailing whitespace, debug prints, TODOs."""
    comment_rows = None
    for number, raw in view.diff.added:
        text = raw.removesuffix("\r")
        if len(text.expandtabs(TAB_WIDTH)) > LONG_LINE:
            yield number, f"line of {len(text.expandtabs(TAB_WIDTH))} characters (over {LONG_LINE})"
        if text != text.rstrip(" \t"):
            yield number, "trailing whitespace"
        if _debug_line(view, number, text):
            yield number, "a debug statement left in"
        if todos > 0 and TODO_MARKER.search(text):
            if comment_rows is None and view.after is not None:
                marked = [n - 1 for n, t in view.diff.added if TODO_MARKER.search(t)]
                comment_rows = set(view.after.comment_rows(marked))
            if comment_rows is None or number - 1 in comment_rows:
                todos -= 1
                yield number, "a new TODO/FIXME marker"


def lint_findings(
    views: Sequence[FileView], findings: dict[str, Findings] | None, style: StyleMetrics
) -> list[LineFinding]:
    """The lint problems introduced, each on its line, sharing the lint term's points."""
    if style.total <= 0:
        return []
    share = LINT_WEIGHT * LINT_DENSITY_SCALE / max(style.lines_checked, LINT_FLOOR)
    found: list[LineFinding] = []
    for view in views:
        if not view.is_code:
            continue
        problems = list(_line_problems(view, style.todos))
        if findings:
            problems.extend(_ruff_lines(view, findings))
        for line, what in sorted(problems):
            found.append(LineFinding(view.path, line, line, LINT, "Lint", what, share))
    return found


def security_findings(security: SecurityMetrics) -> list[LineFinding]:
    """Risky calls and secrets (redacted) where they were added."""
    found = [
        LineFinding(
            call.path, call.line, call.line, RISKY, f"Risky code: {call.kind}",
            f"`{call.kind}` added: {-RISKY_CALL_POINTS} points (at most 6 a commit).",
            float(-RISKY_CALL_POINTS),
        )
        for call in security.risky_calls
    ]  # fmt: skip
    for secret in security.secrets:
        message = (
            f"A {secret.kind} was added here ({secret.redacted}). Treat it as leaked: revoke "
            "and rotate it, since deleting the line leaves it in the history."
        )
        found.append(LineFinding(
            secret.path, secret.line, secret.line, SECRET, f"Secret committed: {secret.kind}",
            message, float(-SECRET_POINTS),
        ))  # fmt: skip
    for secret in security.possible_secrets:
        why = f" ({secret.context})" if secret.context else ""
        found.append(LineFinding(
            secret.path, secret.line, secret.line, POSSIBLE_SECRET,
            f"Possible secret: {secret.kind}",
            f"Looks like a {secret.kind}{why}: {secret.redacted}.",
            float(-POSSIBLE_SECRET_POINTS),
        ))  # fmt: skip
    return found


def collect(
    views: Sequence[FileView],
    findings: dict[str, Findings] | None,
    complexity: ComplexityMetrics,
    security: SecurityMetrics,
    style: StyleMetrics,
    source_lines_added: int,
) -> tuple[LineFinding, ...]:
    """Every finding of the commit, costliest first (then by place)."""
    every = [
        *security_findings(security),
        *burden_findings(complexity, source_lines_added),
        *lint_findings(views, findings, style),
    ]
    return tuple(sorted(every, key=lambda f: (-f.points, f.path, f.line)))
