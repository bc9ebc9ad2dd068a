"""Reasons: the signals weighed into the visible parts of a delta, and the score they add up to.

Each term of the formula becomes at most one reason, rounded half away from
zero; the cap, risky calls, secrets and poor quality add theirs. The delta is
the sum of the reasons' points, so what the pet shows always adds up.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.analysis.change import ChangeMetrics
from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.docs import DocMetrics
from app.analysis.scoring import (
    COMPLEXITY_WEIGHT,
    DOC_WEIGHT,
    FORMULA_CAP,
    LINT_WEIGHT,
    POOR_QUALITY_POINTS,
    POOR_QUALITY_THRESHOLD,
    POSSIBLE_SECRET_CAP,
    POSSIBLE_SECRET_POINTS,
    QUALITY_BASE,
    QUALITY_MAX,
    QUALITY_POINTS_PER_STEP,
    RISKY_CALL_CAP,
    RISKY_CALL_POINTS,
    SECRET_POINTS,
    TEST_WEIGHT,
    Reason,
    Score,
    round_points,
)
from app.analysis.security import SecurityMetrics
from app.analysis.signals import Signals, burden_delta, clamp
from app.analysis.style import StyleMetrics
from app.analysis.testing import TestMetrics


def _plural(count: int, noun: str) -> str:
    """`1 test` / `3 tests`."""
    return f"{count} {noun}{'' if abs(count) == 1 else 's'}"


def _signed(count: int) -> str:
    """A count with its sign, as `+3` or `-2`."""
    return f"{count:+d}"


def tests_reason(signal: float, tests: TestMetrics) -> Reason | None:
    """The tests term of the formula as a reason."""
    points = round_points(TEST_WEIGHT * signal)
    if points == 0:
        return None
    detail = (
        f"test cases {_signed(tests.net_test_cases)}, assertions "
        f"{_signed(tests.assertions_added - tests.assertions_removed)}"
    )
    if tests.touched and tests.source_lines_added:
        detail += f", tests changed with {_plural(tests.source_lines_added, 'source line')}"
    return Reason("tests_added" if points > 0 else "tests_removed", points, detail)


def docs_reason(signal: float, docs: DocMetrics) -> Reason | None:
    """The documentation term of the formula as a reason."""
    points = round_points(DOC_WEIGHT * signal)
    if points == 0:
        return None
    detail = f"{_signed(docs.net_doc_lines)} comment lines for {docs.code_lines_added} code lines"
    if docs.doc_files_changed:
        detail += f"; {', '.join(docs.doc_files_changed[:2])} updated"
    return Reason("docs_added" if points > 0 else "docs_removed", points, detail)


def _describe(change: FunctionChange) -> str:
    """`path:name (cc 12, nesting 5, 80 lines)`."""
    metrics = change.after or change.before
    if metrics is None:
        return f"{change.path}:{change.name}"
    return (
        f"{change.path}:{change.name} (cc {metrics.cyclomatic}, nesting {metrics.nesting}, "
        f"{_plural(metrics.length, 'line')})"
    )


def complexity_reason(signal: float, complexity: ComplexityMetrics) -> Reason | None:
    """The burden term: a penalty for burden added, a reward on the same scale for removing it."""
    points = -round_points(COMPLEXITY_WEIGHT * signal)
    if points == 0:
        return None
    worse = points < 0
    culprit = (max if worse else min)(complexity.functions, key=burden_delta)
    code = "complexity_added" if worse else "complexity_reduced"
    return Reason(code, points, f"{'worst' if worse else 'best'}: {_describe(culprit)}")


def change_reasons(
    signals: Signals, change: ChangeMetrics, complexity: ComplexityMetrics
) -> list[Reason]:
    """The change's own complexity as up to three reasons: size, spread, functions touched."""
    size = -round_points(COMPLEXITY_WEIGHT * signals.size)
    spread = -round_points(COMPLEXITY_WEIGHT * signals.spread)
    functions = -round_points(COMPLEXITY_WEIGHT * signals.functions)
    lines = _plural(change.lines_added, "source line")
    candidates = [
        Reason("change_size", size, f"{'small change: ' if size > 0 else ''}{lines} added"),
        Reason("change_spread", spread,
               f"change spread over {_plural(change.source_files, 'file')} in "
               f"{_plural(change.directories, 'directory').replace('directorys', 'directories')}"),
        Reason("functions_touched", functions,
               f"{_plural(complexity.functions_touched, 'function')} touched"),
    ]  # fmt: skip
    return [reason for reason in candidates if reason.points != 0]


def _lint_summary(style: StyleMetrics) -> str:
    """The problems introduced, most frequent first."""
    parts = [(count, code) for code, count in style.ruff.items()]
    for name in ("long_lines", "trailing_whitespace", "mixed_indentation", "debug_prints", "todos"):
        count = getattr(style, name)
        parts.append((count, name.replace("_", " ")))
    listed = sorted((p for p in parts if p[0] > 0), key=lambda p: (-p[0], p[1]))
    return ", ".join(f"{count} {name}" for count, name in listed[:4])


def lint_reason(signal: float, style: StyleMetrics) -> Reason | None:
    """The lint term of the formula as a reason."""
    points = -round_points(LINT_WEIGHT * signal)
    if points == 0:
        return None
    detail = f"{_plural(style.total, 'lint problem')} on {style.lines_checked} lines added"
    return Reason("lint_introduced", points, f"{detail}: {_lint_summary(style)}")


def formula_reasons(
    signals: Signals,
    tests: TestMetrics,
    docs: DocMetrics,
    complexity: ComplexityMetrics,
    style: StyleMetrics,
) -> list[Reason]:
    """The code-quality terms that have points (the change's size and spread aside)."""
    candidates = [
        tests_reason(signals.tests, tests),
        docs_reason(signals.docs, docs),
        complexity_reason(signals.complexity, complexity),
        lint_reason(signals.lint, style),
    ]
    return [reason for reason in candidates if reason is not None]


def cap_reason(points: int) -> Reason | None:
    """The adjustment that brings the formula's sum within ±FORMULA_CAP."""
    capped = int(clamp(points, -FORMULA_CAP, FORMULA_CAP))
    if capped == points:
        return None
    return Reason("capped", capped - points, f"the formula is capped at ±{FORMULA_CAP}")


def risky_reason(security: SecurityMetrics) -> Reason | None:
    """A penalty per risky call added."""
    if not security.risky_calls:
        return None
    points = max(RISKY_CALL_CAP, RISKY_CALL_POINTS * len(security.risky_calls))
    first = security.risky_calls[0]
    kinds = ", ".join(f"{n} {kind}" for kind, n in security.risky_by_kind().items())
    return Reason("risky_code", points, f"{kinds} added (first at {first.path}:{first.line})")


def secret_reason(security: SecurityMetrics) -> Reason | None:
    """The poison: a committed secret, described by kind and place only."""
    if not security.secrets:
        return None
    first = security.secrets[0]
    more = f" and {len(security.secrets) - 1} more" if len(security.secrets) > 1 else ""
    detail = f"{first.kind} committed at {first.path}:{first.line}{more} (value redacted)"
    return Reason("secret_committed", SECRET_POINTS, detail)


def possible_secret_reason(security: SecurityMetrics) -> Reason | None:
    """A key that is probably not a live secret (test, example, placeholder): a nudge only."""
    possible = security.possible_secrets
    if not possible:
        return None
    points = max(POSSIBLE_SECRET_CAP, POSSIBLE_SECRET_POINTS * len(possible))
    first = possible[0]
    more = f" and {len(possible) - 1} more" if len(possible) > 1 else ""
    where = f" ({first.context})" if first.context else ""
    detail = (
        f"possible secret{where}: {first.kind} at {first.path}:{first.line}{more} (value redacted)"
    )
    return Reason("possible_secret", points, detail)


def poor_reason(quality: float) -> Reason | None:
    """The extra penalty of a poor-quality commit."""
    if quality >= POOR_QUALITY_THRESHOLD:
        return None
    detail = f"quality {quality:.1f}/10 is below {POOR_QUALITY_THRESHOLD:g}"
    return Reason("poor_quality", POOR_QUALITY_POINTS, detail)


def quality_from_points(points: int, poisoned: bool) -> float:
    """The 0–10 quality score from the code-quality points before the cap and risky calls."""
    if poisoned:
        return 0.0
    return round(clamp(QUALITY_BASE + points / QUALITY_POINTS_PER_STEP, 0, QUALITY_MAX), 1)


def _info_reasons(security: SecurityMetrics) -> list[Reason]:
    """Zero-point reasons worth showing."""
    if not security.manifests_changed:
        return []
    names = ", ".join(security.manifests_changed[:3])
    return [Reason("dependencies_changed", 0, f"dependency manifests changed: {names}")]


def _ordered(reasons: Sequence[Reason]) -> list[Reason]:
    """Largest effect first; ties keep their order."""
    return sorted(reasons, key=lambda reason: -abs(reason.points))


def score_commit(
    signals: Signals,
    tests: TestMetrics,
    docs: DocMetrics,
    complexity: ComplexityMetrics,
    style: StyleMetrics,
    security: SecurityMetrics,
    change: ChangeMetrics | None = None,
) -> Score:
    """The quality score, the delta and its reasons; the reasons' points sum to the delta."""
    quality_reasons = formula_reasons(signals, tests, docs, complexity, style)
    reasons = [*quality_reasons, *change_reasons(signals, change or ChangeMetrics(), complexity)]
    formula_points = sum(reason.points for reason in reasons)
    extras = [r for r in (cap_reason(formula_points), risky_reason(security)) if r is not None]
    reasons.extend(extras)
    risky_points = sum(r.points for r in extras if r.code == "risky_code")
    poisoned = bool(security.secrets)
    quality_points = sum(reason.points for reason in quality_reasons) + risky_points
    quality = quality_from_points(quality_points, poisoned)
    penalties = [secret_reason(security) or poor_reason(quality), possible_secret_reason(security)]
    reasons.extend(penalty for penalty in penalties if penalty is not None)
    reasons.extend(_info_reasons(security))
    if not reasons:
        reasons.append(Reason("no_signal", 0, "no measurable quality change"))
    delta = sum(reason.points for reason in reasons)
    return Score(quality, delta, _ordered(reasons), poisoned)
