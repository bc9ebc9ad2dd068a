"""Scoring: the seed's formula, every number it uses, and the score those numbers give.

The formula is `+0.3×tests + 0.2×docs − 0.4×complexity − 0.1×lint`, capped
at ±20. Each family is first turned into a *signal* on a documented scale
(app/analysis/signals.py), each weighted term is rounded half away from zero
into one reason (app/analysis/reasons.py), and the delta is the sum of the
reasons, so the points always add up. Poor quality, committed secrets and
risky calls are penalties outside the cap. Every number lives here, named, and
`RULES` describes them for the site.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

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


def round_points(value: float) -> int:
    """Round half away from zero, so +0.5 and −0.5 are symmetric."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


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
    """The commit a message says it reverts (git's own `git revert` wording), if any."""
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
