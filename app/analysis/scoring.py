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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.analysis.change import ChangeMetrics
from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.docs import DocMetrics
from app.analysis.measure import FunctionMetrics
from app.analysis.security import SecurityMetrics
from app.analysis.style import StyleMetrics
from app.analysis.testing import TestMetrics

# The seed's weights and cap.
TEST_WEIGHT = 0.3
DOC_WEIGHT = 0.2
COMPLEXITY_WEIGHT = 0.4
LINT_WEIGHT = 0.1
FORMULA_CAP = 20

# Tests signal: test cases gained (each parametrized case counts; whole file versions are
# compared, so a data table is no test), TEST_CASE_SIGNAL per doubling, plus
# TESTS_ALONGSIDE_SIGNAL when a commit adding source also changes tests, within
# ±TEST_SIGNAL_CAP. Tests lost while more source is deleted than added cost nothing
# (dead code removed with its tests). Small on purpose: bench/validity.py finds test
# volume grows with change size, so rewarding it heavily ranks risky commits higher.
TEST_CASE_SIGNAL = 2.5
TESTS_ALONGSIDE_SIGNAL = 1.7
TEST_SIGNAL_CAP = 5

# Documentation signal: DOC_RATIO_SCALE × comment lines per code line added (at least
# DOC_RATIO_FLOOR code lines assumed), plus DOC_FILE_SIGNAL when README/docs gain lines.
DOC_RATIO_SCALE = 25
DOC_RATIO_FLOOR = 20
DOC_FILE_SIGNAL = 5
DOC_SIGNAL_CAP = 12.5

# Complexity signal, part one: the change's own complexity (app/analysis/change.py), counted
# only when the commit adds source lines. SIZE_SIGNAL per bit of log2(1 + source lines added)
# past SIZE_ALLOWANCE_BITS; SPREAD_SIGNAL per bit of the change's entropy over files;
# FUNCTIONS_SIGNAL per bit of log2(1 + functions touched); HOTSPOT_SIGNAL per bit of earlier
# fixes of the files changed. The allowance is where the size term crosses zero: it balances
# what a typical commit pays for spread and functions, so that on bench/validity.py's
# histories the pet neither sits at 100 nor dies more often than decay alone would kill it.
SIZE_SIGNAL = 2.5
SIZE_ALLOWANCE_BITS = 8.0  # log2(1 + 255 source lines)
SPREAD_SIGNAL = 3.75
FUNCTIONS_SIGNAL = 5.0
HOTSPOT_SIGNAL = 1.25  # per bit of log2(1 + earlier fixes of the files touched): hotspots.py
HOTSPOT_SIGNAL_CAP = 5  # fix counts only grow with a history's age; the cap keeps that bounded

# Complexity signal, part two: the change in "burden" of the touched functions. A function's
# burden is what it carries beyond healthy allowances: each branch past CC_ALLOWANCE,
# NESTING_WEIGHT per level past NESTING_ALLOWANCE, one per LENGTH_UNIT lines past
# LENGTH_ALLOWANCE. Adding and removing burden move the signal on the same scale.
CC_ALLOWANCE = 5
NESTING_ALLOWANCE = 3
NESTING_WEIGHT = 2
LENGTH_ALLOWANCE = 60
LENGTH_UNIT = 20
BURDEN_SCALE = 50  # burden is counted per 50 code lines added…
COMPLEXITY_FLOOR = 50  # …with at least this many lines assumed, so small commits count fully
COMPLEXITY_SIGNAL_CAP = 40

# Lint signal: problems introduced per 100 lines added (at least LINT_FLOOR lines assumed).
LINT_DENSITY_SCALE = 100
LINT_FLOOR = 20
LINT_SIGNAL_CAP = 60

# Outside the cap.
RISKY_CALL_POINTS = -2
RISKY_CALL_CAP = -6
SECRET_POINTS = -15
POSSIBLE_SECRET_POINTS = -1  # a key in a test, an example or a placeholder: shown, never poison
POSSIBLE_SECRET_CAP = -2
POOR_QUALITY_THRESHOLD = 3.0
POOR_QUALITY_POINTS = -5

# Quality score: QUALITY_BASE plus the code-quality points (tests, docs, burden, lint and
# risky calls; not the change's size or spread) over QUALITY_POINTS_PER_STEP, in 0–10.
QUALITY_BASE = 5.0
QUALITY_POINTS_PER_STEP = 4
QUALITY_MAX = 10.0
REVIEW_LIMIT = 3  # a Gemini review may move the delta by at most this much either way
REVERT_TOLERANCE = 2  # a revert scores the negative of the reverted commit's delta, within this

_C = f"−{COMPLEXITY_WEIGHT} × complexity signal"
RULES: list[dict[str, object]] = [
    {"code": "tests_added", "family": "tests", "weight": TEST_WEIGHT,
     "rule": f"+{TEST_WEIGHT} × tests signal: {TEST_CASE_SIGNAL} × log2(1 + test cases gained) "
             f"(a parametrized case counts as one; whole test files are compared, so a data "
             f"table is no test) + {TESTS_ALONGSIDE_SIGNAL} when a commit that adds source also "
             f"changes tests, within ±{TEST_SIGNAL_CAP}. A proxy for coverage, not a measurement "
             f"of it."},
    {"code": "tests_removed", "family": "tests", "weight": TEST_WEIGHT,
     "rule": "The same signal when the commit loses test cases; nothing is charged when it "
             "also deletes more source than it adds (dead code removed with its tests)."},
    {"code": "docs_added", "family": "documentation", "weight": DOC_WEIGHT,
     "rule": f"+{DOC_WEIGHT} × documentation signal: {DOC_RATIO_SCALE} × net comment and "
             f"docstring lines / max(code lines added, {DOC_RATIO_FLOOR}), +{DOC_FILE_SIGNAL} "
             f"when README, docs or CHANGELOG gain lines, within ±{DOC_SIGNAL_CAP:g}."},
    {"code": "docs_removed", "family": "documentation", "weight": DOC_WEIGHT,
     "rule": "The same signal when comments and docstrings are removed."},
    {"code": "change_size", "family": "complexity", "weight": -COMPLEXITY_WEIGHT,
     "rule": f"{_C}: {SIZE_SIGNAL} × (log2(1 + source lines added) − "
             f"{SIZE_ALLOWANCE_BITS:g}). Larger changes carry more risk (Kamei et al. 2013), "
             f"and each doubling costs the same; a small change earns on this term what its "
             f"spread and the functions it touches cost."},
    {"code": "change_spread", "family": "complexity", "weight": -COMPLEXITY_WEIGHT,
     "rule": f"{_C}: {SPREAD_SIGNAL} × the entropy (bits) of the change over the source files "
             f"it touches (Hassan 2009): 0 for one file, log2(n) for n files changed evenly."},
    {"code": "functions_touched", "family": "complexity", "weight": -COMPLEXITY_WEIGHT,
     "rule": f"{_C}: {FUNCTIONS_SIGNAL} × log2(1 + source functions touched): each function "
             f"a change reaches into is one more place for it to go wrong."},
    {"code": "hotspot", "family": "complexity", "weight": -COMPLEXITY_WEIGHT,
     "rule": f"{_C}: {HOTSPOT_SIGNAL} × log2(1 + earlier fixes of the source files a commit "
             f"changes), at most {HOTSPOT_SIGNAL_CAP}, when it adds source lines. A fix is a "
             f"commit whose message says fix, bug, issue, regression, crash or broken; files "
             f"that needed fixes tend to need more."},
    {"code": "complexity_added", "family": "complexity", "weight": -COMPLEXITY_WEIGHT,
     "rule": f"{_C}: burden added to the touched functions per {BURDEN_SCALE} source lines "
             f"added (at least {COMPLEXITY_FLOOR} lines assumed), within ±"
             f"{COMPLEXITY_SIGNAL_CAP}. Burden: each branch past cyclomatic {CC_ALLOWANCE}, "
             f"{NESTING_WEIGHT} per nesting level past {NESTING_ALLOWANCE}, 1 per "
             f"{LENGTH_UNIT} lines past {LENGTH_ALLOWANCE}."},
    {"code": "complexity_reduced", "family": "complexity", "weight": COMPLEXITY_WEIGHT,
     "rule": "The same burden signal, on the same scale, when burden is removed."},
    {"code": "lint_introduced", "family": "style", "weight": -LINT_WEIGHT,
     "rule": f"−{LINT_WEIGHT} × problems introduced per {LINT_DENSITY_SCALE} lines added "
             f"(at least {LINT_FLOOR} lines assumed), at most {LINT_SIGNAL_CAP}: ruff on "
             "Python, and long lines, trailing whitespace, mixed indentation, debug prints "
             "and new TODO/FIXME everywhere."},
    {"code": "capped", "family": "formula", "points": f"±{FORMULA_CAP}",
     "rule": f"The four families together are capped at ±{FORMULA_CAP}."},
    {"code": "risky_code", "family": "security", "points": RISKY_CALL_POINTS,
     "rule": f"{RISKY_CALL_POINTS} per risky call added (eval/exec, shell=True, pickle.loads, "
             f"innerHTML, SQL built by concatenation…), at most {RISKY_CALL_CAP}."},
    {"code": "secret_committed", "family": "security", "points": SECRET_POINTS,
     "rule": f"{SECRET_POINTS} when a real-looking secret is committed in source or config; "
             "the pet is poisoned and the quality score is 0."},
    {"code": "possible_secret", "family": "security", "points": POSSIBLE_SECRET_POINTS,
     "rule": f"{POSSIBLE_SECRET_POINTS} per possible secret (a key under tests or fixtures, in "
             f"documentation, a well-known placeholder, a publishable key), at most "
             f"{POSSIBLE_SECRET_CAP}; never poisons."},
    {"code": "poor_quality", "family": "quality", "points": POOR_QUALITY_POINTS,
     "rule": f"{POOR_QUALITY_POINTS} when the quality score is below {POOR_QUALITY_THRESHOLD}."},
    {"code": "revert", "family": "formula", "points": "−(reverted delta)",
     "rule": f"A revert (\"This reverts commit X\") scores the negative of X's delta, within "
             f"±{REVERT_TOLERANCE}: undoing a change gives back what it earned or cost."},
    {"code": "dependencies_changed", "family": "security", "points": 0,
     "rule": "Dependency manifests changed: shown, not scored."},
    {"code": "no_signal", "family": "quality", "points": 0,
     "rule": "Nothing measurable changed."},
    {"code": "gemini_review", "family": "review", "points": f"±{REVIEW_LIMIT}",
     "rule": f"When enabled, a Gemini review may adjust the delta by up to ±{REVIEW_LIMIT}."},
    {"code": "quality_score", "family": "quality", "points": None,
     "rule": f"Quality (0–{QUALITY_MAX:g}) = {QUALITY_BASE:g} + (points of tests, "
             f"documentation, burden, lint and risky calls, before the cap) / "
             f"{QUALITY_POINTS_PER_STEP}; 0 when a secret is committed."},
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
    """Each family's normalised signal (the seed's columns), and the complexity family's parts.

    ``complexity`` is the burden part; ``size``, ``spread`` and ``functions`` are the change's
    own complexity. The complexity family's signal is their sum.
    """

    tests: float
    docs: float
    complexity: float
    lint: float
    size: float = 0.0
    spread: float = 0.0
    functions: float = 0.0


def round_points(value: float) -> int:
    """Round half away from zero, so +0.5 and −0.5 are symmetric."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _clamp(value: float, low: float, high: float) -> float:
    """Keep a value within [low, high]."""
    return max(low, min(high, value))


def _signed_log2(value: float) -> float:
    """log2(1 + |value|) with the value's sign: each doubling counts the same."""
    return math.copysign(math.log2(1 + abs(value)), value)


def tests_signal(tests: TestMetrics, change: ChangeMetrics | None = None) -> float:
    """Test cases gained (per doubling), plus a little for testing the source a commit adds."""
    change = change or ChangeMetrics(lines_added=tests.source_lines_added)
    cases = TEST_CASE_SIGNAL * _signed_log2(tests.net_test_cases)
    if cases < 0 and change.lines_removed > change.lines_added:
        cases = 0.0  # dead code deleted together with its tests is not a loss
    alongside = TESTS_ALONGSIDE_SIGNAL if change.adds_source and tests.touched else 0.0
    return _clamp(cases + alongside, -TEST_SIGNAL_CAP, TEST_SIGNAL_CAP)


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
    """Net burden added to the touched functions, per 50 code lines added.

    Dividing by the code added keeps a large, well-factored feature from being
    punished twice for its size (the size term already counts it), while a small
    change that nests deeply still counts.
    """
    net = sum(burden_delta(change) for change in complexity.functions)
    signal = BURDEN_SCALE * net / max(tests.source_lines_added, COMPLEXITY_FLOOR)
    return _clamp(signal, -COMPLEXITY_SIGNAL_CAP, COMPLEXITY_SIGNAL_CAP)


def change_signals(change: ChangeMetrics, complexity: ComplexityMetrics) -> tuple[float, ...]:
    """Size, spread and functions-touched signals; all zero when no source line is added."""
    if not change.adds_source:
        return 0.0, 0.0, 0.0
    size = SIZE_SIGNAL * (math.log2(1 + change.lines_added) - SIZE_ALLOWANCE_BITS)
    spread = SPREAD_SIGNAL * change.entropy
    functions = FUNCTIONS_SIGNAL * math.log2(1 + complexity.functions_touched)
    return size, spread, functions


def lint_signal(style: StyleMetrics) -> float:
    """Problems introduced per 100 lines added."""
    density = LINT_DENSITY_SCALE * style.total / max(style.lines_checked, LINT_FLOOR)
    return _clamp(density, 0, LINT_SIGNAL_CAP)


def compute_signals(
    tests: TestMetrics,
    docs: DocMetrics,
    complexity: ComplexityMetrics,
    style: StyleMetrics,
    change: ChangeMetrics | None = None,
) -> Signals:
    """Every family's signal, rounded to one decimal so stored figures are stable."""
    change = change or ChangeMetrics()
    size, spread, functions = change_signals(change, complexity)
    return Signals(
        tests=round(tests_signal(tests, change), 1),
        docs=round(docs_signal(docs), 1),
        complexity=round(complexity_signal(complexity, tests), 1),
        lint=round(lint_signal(style), 1),
        size=round(size, 1),
        spread=round(spread, 1),
        functions=round(functions, 1),
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
    """``path:name (cc 12, nesting 5, 80 lines)``."""
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


def reason_dicts(score: Score) -> list[dict[str, Any]]:
    """A score's reasons as the plain dicts stored and sent everywhere."""
    return [{"code": r.code, "points": r.points, "detail": r.detail} for r in score.reasons]


def score_from(
    quality: float, delta: int, reasons: list[dict[str, Any]], poisoned: bool = False
) -> Score:
    """A score rebuilt from stored plain data (replay's documents, analysis rows)."""
    parsed = [Reason(str(r["code"]), int(r["points"]), str(r["detail"])) for r in reasons]
    return Score(quality, delta, parsed, poisoned)


REVERT_PATTERN = re.compile(r"This reverts commit ([0-9a-f]{7,40})", re.IGNORECASE)


def reverted_sha(message: str) -> str | None:
    """The commit a message says it reverts (git's own ``git revert`` wording), if any."""
    match = REVERT_PATTERN.search(message)
    return match.group(1).lower() if match else None


def revert_score(score: Score, reverted: str, reverted_delta: int) -> Score:
    """A revert gives back what the reverted commit earned or cost: the negative of its delta.

    The revert's own measurements stay in its metrics; its reasons become one, so they
    still sum to the delta. Secrets stay poison whatever is reverted.
    """
    if score.poisoned:
        return score
    detail = f"reverts {reverted[:7]}, which scored {reverted_delta:+d}"
    return Score(score.quality_score, -reverted_delta, [Reason("revert", -reverted_delta, detail)])
