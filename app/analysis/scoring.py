"""Scoring: the seed's formula, its normalisations, and the reasons that explain every point.

The formula is ``+0.3×tests + 0.2×docs − 0.4×complexity − 0.1×lint``, capped
at ±20. Each family is first turned into a *signal* on a documented scale
(below), each weighted term is rounded half away from zero into one reason,
and the delta is the sum of the reasons, so the points always add up. Poor
quality, committed secrets and risky calls are penalties outside the cap.
Every number lives here, named, and :data:`RULES` describes them for the site.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.docs import DocMetrics
from app.analysis.parsing import FunctionMetrics
from app.analysis.security import SecurityMetrics
from app.analysis.style import StyleMetrics
from app.analysis.testing import TestMetrics

# The seed's weights and cap.
TEST_WEIGHT = 0.3
DOC_WEIGHT = 0.2
COMPLEXITY_WEIGHT = 0.4
LINT_WEIGHT = 0.1
FORMULA_CAP = 20

# Tests signal: test lines per 100 source lines added (at least TEST_RATIO_FLOOR source
# lines assumed), plus TEST_FUNCTION_SIGNAL per test function added, within ±TEST_SIGNAL_CAP.
TEST_RATIO_FLOOR = 40
TEST_FUNCTION_SIGNAL = 5
TEST_SIGNAL_CAP = 40

# Documentation signal: DOC_RATIO_SCALE × comment lines per code line added (at least
# DOC_RATIO_FLOOR code lines assumed), plus DOC_FILE_SIGNAL when README/docs gain lines.
DOC_RATIO_SCALE = 50
DOC_RATIO_FLOOR = 20
DOC_FILE_SIGNAL = 10
DOC_SIGNAL_CAP = 25

# Complexity signal: the change in "burden" of the touched functions. A function's burden
# is what it carries beyond healthy allowances: each branch past CC_ALLOWANCE, NESTING_WEIGHT
# per level past NESTING_ALLOWANCE, one per LENGTH_UNIT lines past LENGTH_ALLOWANCE.
CC_ALLOWANCE = 5
NESTING_ALLOWANCE = 3
NESTING_WEIGHT = 2
LENGTH_ALLOWANCE = 60
LENGTH_UNIT = 20
COMPLEXITY_DENSITY_SCALE = 100  # burden is counted per 100 code lines added…
COMPLEXITY_FLOOR = 50  # …with at least this many lines assumed, so small commits count fully
COMPLEXITY_SIGNAL_CAP = 40
COMPLEXITY_REDUCTION_WEIGHT = 0.2  # reward for lowering the burden, half the penalty's weight
COMPLEXITY_REDUCTION_CAP = 20

# Lint signal: problems introduced per 100 lines added (at least LINT_FLOOR lines assumed).
LINT_DENSITY_SCALE = 100
LINT_FLOOR = 20
LINT_SIGNAL_CAP = 60

# Outside the cap.
RISKY_CALL_POINTS = -2
RISKY_CALL_CAP = -6
SECRET_POINTS = -15
POOR_QUALITY_THRESHOLD = 3.0
POOR_QUALITY_POINTS = -5

# Quality score: QUALITY_BASE plus the formula's points over QUALITY_POINTS_PER_STEP, in 0–10.
QUALITY_BASE = 5.0
QUALITY_POINTS_PER_STEP = 4
QUALITY_MAX = 10.0
REVIEW_LIMIT = 3  # a Gemini review may move the delta by at most this much either way

RULES: list[dict[str, object]] = [
    {"code": "tests_added", "family": "tests", "weight": TEST_WEIGHT,
     "rule": f"+{TEST_WEIGHT} × tests signal: 100 × net test lines / max(source lines added, "
             f"{TEST_RATIO_FLOOR}) + {TEST_FUNCTION_SIGNAL} per test function added, "
             f"within ±{TEST_SIGNAL_CAP}. A proxy for coverage, not a measurement of it."},
    {"code": "tests_removed", "family": "tests", "weight": TEST_WEIGHT,
     "rule": "The same signal when the commit takes more tests away than it adds."},
    {"code": "docs_added", "family": "documentation", "weight": DOC_WEIGHT,
     "rule": f"+{DOC_WEIGHT} × documentation signal: {DOC_RATIO_SCALE} × net comment and "
             f"docstring lines / max(code lines added, {DOC_RATIO_FLOOR}), +{DOC_FILE_SIGNAL} "
             f"when README, docs or CHANGELOG gain lines, within ±{DOC_SIGNAL_CAP}."},
    {"code": "docs_removed", "family": "documentation", "weight": DOC_WEIGHT,
     "rule": "The same signal when comments and docstrings are removed."},
    {"code": "complexity_added", "family": "complexity", "weight": -COMPLEXITY_WEIGHT,
     "rule": f"−{COMPLEXITY_WEIGHT} × burden added to the touched functions per "
             f"{COMPLEXITY_DENSITY_SCALE} source lines added (at least {COMPLEXITY_FLOOR} lines "
             f"assumed), at most {COMPLEXITY_SIGNAL_CAP}. "
             f"Burden: each branch past cyclomatic {CC_ALLOWANCE}, "
             f"{NESTING_WEIGHT} per nesting level past {NESTING_ALLOWANCE}, 1 per "
             f"{LENGTH_UNIT} lines past {LENGTH_ALLOWANCE}."},
    {"code": "complexity_reduced", "family": "complexity", "weight": COMPLEXITY_REDUCTION_WEIGHT,
     "rule": f"+{COMPLEXITY_REDUCTION_WEIGHT} × burden removed (same scale), at most "
             f"{COMPLEXITY_REDUCTION_CAP}."},
    {"code": "lint_introduced", "family": "style", "weight": -LINT_WEIGHT,
     "rule": f"−{LINT_WEIGHT} × problems introduced per {LINT_DENSITY_SCALE} lines added "
             f"(at least {LINT_FLOOR} lines assumed), at most {LINT_SIGNAL_CAP}: ruff on "
             "Python, and long lines, trailing whitespace, mixed indentation, debug prints "
             "and new TODO/FIXME everywhere."},
    {"code": "capped", "family": "formula", "points": f"±{FORMULA_CAP}",
     "rule": f"The four terms together are capped at ±{FORMULA_CAP}."},
    {"code": "risky_code", "family": "security", "points": RISKY_CALL_POINTS,
     "rule": f"{RISKY_CALL_POINTS} per risky call added (eval/exec, shell=True, pickle.loads, "
             f"innerHTML, SQL built by concatenation…), at most {RISKY_CALL_CAP}."},
    {"code": "secret_committed", "family": "security", "points": SECRET_POINTS,
     "rule": f"{SECRET_POINTS} when a secret is committed; the pet is poisoned and the "
             "quality score is 0."},
    {"code": "poor_quality", "family": "quality", "points": POOR_QUALITY_POINTS,
     "rule": f"{POOR_QUALITY_POINTS} when the quality score is below {POOR_QUALITY_THRESHOLD}."},
    {"code": "dependencies_changed", "family": "security", "points": 0,
     "rule": "Dependency manifests changed: shown, not scored."},
    {"code": "no_signal", "family": "quality", "points": 0,
     "rule": "Nothing measurable changed."},
    {"code": "gemini_review", "family": "review", "points": f"±{REVIEW_LIMIT}",
     "rule": f"When enabled, a Gemini review may adjust the delta by up to ±{REVIEW_LIMIT}."},
    {"code": "quality_score", "family": "quality", "points": None,
     "rule": f"Quality (0–{QUALITY_MAX:g}) = {QUALITY_BASE:g} + (formula points before the cap "
             f"+ risky-call points) / {QUALITY_POINTS_PER_STEP}; 0 when a secret is committed."},
]  # fmt: skip


@dataclass(frozen=True)
class Reason:
    """One visible part of a delta."""

    code: str
    points: int
    detail: str


@dataclass(frozen=True)
class Score:
    """A commit's quality (0–10), its health delta, and the reasons that add up to it."""

    quality_score: float
    delta: int
    reasons: list[Reason] = field(default_factory=list)
    poisoned: bool = False

    @property
    def headline(self) -> str:
        """The most important reason's text, for one-line summaries."""
        return self.reasons[0].detail if self.reasons else "no measurable change"

    def with_reason(self, reason: Reason) -> Score:
        """A copy with one more reason, the delta moved by its points."""
        return replace(self, delta=self.delta + reason.points, reasons=[*self.reasons, reason])


@dataclass(frozen=True)
class Signals:
    """Each family's normalised signal (the seed's columns)."""

    tests: float
    docs: float
    complexity: float
    lint: float


def round_points(value: float) -> int:
    """Round half away from zero, so +0.5 and −0.5 are symmetric."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _clamp(value: float, low: float, high: float) -> float:
    """Keep a value within [low, high]."""
    return max(low, min(high, value))


def tests_signal(tests: TestMetrics) -> float:
    """Net test lines per 100 source lines added, plus a bonus per test function."""
    ratio = 100 * tests.net_test_lines / max(tests.source_lines_added, TEST_RATIO_FLOOR)
    signal = ratio + TEST_FUNCTION_SIGNAL * tests.net_test_functions
    return _clamp(signal, -TEST_SIGNAL_CAP, TEST_SIGNAL_CAP)


def docs_signal(docs: DocMetrics) -> float:
    """Comment lines per code line added, plus a bonus for README/docs additions."""
    ratio = DOC_RATIO_SCALE * docs.net_doc_lines / max(docs.code_lines_added, DOC_RATIO_FLOOR)
    bonus = DOC_FILE_SIGNAL if docs.doc_file_lines_added > 0 else 0
    return _clamp(ratio + bonus, -DOC_SIGNAL_CAP, DOC_SIGNAL_CAP)


def burden(metrics: FunctionMetrics | None) -> float:
    """What a function carries beyond the healthy allowances; an absent function carries 0."""
    if metrics is None:
        return 0.0
    branches = max(0, metrics.cyclomatic - CC_ALLOWANCE)
    nesting = NESTING_WEIGHT * max(0, metrics.nesting - NESTING_ALLOWANCE)
    length = max(0, metrics.length - LENGTH_ALLOWANCE) / LENGTH_UNIT
    return branches + nesting + length


def burden_delta(change: FunctionChange) -> float:
    """How much burden one touched function gained (negative: lost)."""
    return burden(change.after) - burden(change.before)


def complexity_signal(complexity: ComplexityMetrics, tests: TestMetrics) -> float:
    """Net burden added to the touched functions, per 100 code lines added.

    Dividing by the code added keeps a large, well-factored feature from being
    punished for its size, while a small change that nests deeply still counts.
    """
    net = sum(burden_delta(change) for change in complexity.functions)
    return COMPLEXITY_DENSITY_SCALE * net / max(tests.source_lines_added, COMPLEXITY_FLOOR)


def lint_signal(style: StyleMetrics) -> float:
    """Problems introduced per 100 lines added."""
    density = LINT_DENSITY_SCALE * style.total / max(style.lines_checked, LINT_FLOOR)
    return _clamp(density, 0, LINT_SIGNAL_CAP)


def compute_signals(
    tests: TestMetrics, docs: DocMetrics, complexity: ComplexityMetrics, style: StyleMetrics
) -> Signals:
    """Every family's signal, rounded to one decimal so stored figures are stable."""
    return Signals(
        tests=round(tests_signal(tests), 1),
        docs=round(docs_signal(docs), 1),
        complexity=round(complexity_signal(complexity, tests), 1),
        lint=round(lint_signal(style), 1),
    )


def _plural(count: int, noun: str) -> str:
    """``1 test`` / ``3 tests``."""
    return f"{count} {noun}{'' if abs(count) == 1 else 's'}"


def _signed(count: int) -> str:
    """A count with its sign, as ``+3`` or ``-2``."""
    return f"{count:+d}"


def tests_reason(signal: float, tests: TestMetrics) -> Reason | None:
    """The tests term of the formula as a reason."""
    points = round_points(TEST_WEIGHT * signal)
    if points == 0:
        return None
    detail = (
        f"tests {_signed(tests.net_test_functions)}, assertions "
        f"{_signed(tests.assertions_added - tests.assertions_removed)}, "
        f"{_signed(tests.net_test_lines)} test lines for {tests.source_lines_added} source lines"
    )
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
    """``path:name (cc 12, nesting 5, 80 lines)``."""
    metrics = change.after or change.before
    if metrics is None:
        return f"{change.path}:{change.name}"
    return (
        f"{change.path}:{change.name} (cc {metrics.cyclomatic}, nesting {metrics.nesting}, "
        f"{_plural(metrics.length, 'line')})"
    )


def complexity_reason(signal: float, complexity: ComplexityMetrics) -> Reason | None:
    """The complexity term: a penalty for burden added, a smaller reward for burden removed."""
    if signal > 0:
        points = -round_points(COMPLEXITY_WEIGHT * min(signal, COMPLEXITY_SIGNAL_CAP))
        code, pick = "complexity_added", max
    else:
        points = round_points(COMPLEXITY_REDUCTION_WEIGHT * min(-signal, COMPLEXITY_REDUCTION_CAP))
        code, pick = "complexity_reduced", min
    if points == 0:
        return None
    culprit = pick(complexity.functions, key=burden_delta)
    return Reason(code, points, f"{'worst' if signal > 0 else 'best'}: {_describe(culprit)}")


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
    """The four weighted terms that have points."""
    candidates = [
        tests_reason(signals.tests, tests),
        docs_reason(signals.docs, docs),
        complexity_reason(signals.complexity, complexity),
        lint_reason(signals.lint, style),
    ]
    return [reason for reason in candidates if reason is not None]


def cap_reason(points: int) -> Reason | None:
    """The adjustment that brings the formula's sum within ±FORMULA_CAP."""
    capped = int(_clamp(points, -FORMULA_CAP, FORMULA_CAP))
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


def poor_reason(quality: float) -> Reason | None:
    """The extra penalty of a poor-quality commit."""
    if quality >= POOR_QUALITY_THRESHOLD:
        return None
    detail = f"quality {quality:.1f}/10 is below {POOR_QUALITY_THRESHOLD:g}"
    return Reason("poor_quality", POOR_QUALITY_POINTS, detail)


def quality_from_points(points: int, poisoned: bool) -> float:
    """The 0–10 quality score from the uncapped formula points and risky-call points."""
    if poisoned:
        return 0.0
    return round(_clamp(QUALITY_BASE + points / QUALITY_POINTS_PER_STEP, 0, QUALITY_MAX), 1)


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
) -> Score:
    """The quality score, the delta and its reasons; the reasons' points sum to the delta."""
    reasons = formula_reasons(signals, tests, docs, complexity, style)
    formula_points = sum(reason.points for reason in reasons)
    extras = [r for r in (cap_reason(formula_points), risky_reason(security)) if r is not None]
    reasons.extend(extras)
    risky_points = sum(r.points for r in extras if r.code == "risky_code")
    poisoned = bool(security.secrets)
    quality = quality_from_points(formula_points + risky_points, poisoned)
    penalty = secret_reason(security) or poor_reason(quality)
    if penalty is not None:
        reasons.append(penalty)
    reasons.extend(_info_reasons(security))
    if not reasons:
        reasons.append(Reason("no_signal", 0, "no measurable quality change"))
    delta = sum(reason.points for reason in reasons)
    return Score(quality, delta, _ordered(reasons), poisoned)
