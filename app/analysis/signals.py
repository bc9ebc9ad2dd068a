"""Signals: each metric family turned into a number on a documented scale (the seed's columns).

Every constant comes from app/analysis/scoring.py, where `RULES` explains it;
app/analysis/reasons.py weighs the signals into the reasons of a score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.analysis.change import ChangeMetrics
from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.docs import DocMetrics
from app.analysis.measure import FunctionMetrics
from app.analysis.scoring import (
    BURDEN_SCALE,
    CC_ALLOWANCE,
    COMPLEXITY_FLOOR,
    COMPLEXITY_SIGNAL_CAP,
    DOC_FILE_SIGNAL,
    DOC_RATIO_FLOOR,
    DOC_RATIO_SCALE,
    DOC_SIGNAL_CAP,
    FUNCTIONS_SIGNAL,
    LENGTH_ALLOWANCE,
    LENGTH_UNIT,
    LINT_DENSITY_SCALE,
    LINT_FLOOR,
    LINT_SIGNAL_CAP,
    NESTING_ALLOWANCE,
    NESTING_WEIGHT,
    SIZE_ALLOWANCE_BITS,
    SIZE_SIGNAL,
    SPREAD_SIGNAL,
    TEST_CASE_SIGNAL,
    TEST_SIGNAL_CAP,
    TESTS_ALONGSIDE_SIGNAL,
)
from app.analysis.style import StyleMetrics
from app.analysis.testing import TestMetrics


@dataclass(frozen=True)
class Signals:
    """Each family's normalised signal (the seed's columns), and the complexity family's parts.

    `complexity` is the burden part; `size`, `spread` and `functions` are the change's
    own complexity. The complexity family's signal is their sum.
    """

    tests: float
    docs: float
    complexity: float
    lint: float
    size: float = 0.0
    spread: float = 0.0
    functions: float = 0.0


def clamp(value: float, low: float, high: float) -> float:
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
    return clamp(cases + alongside, -TEST_SIGNAL_CAP, TEST_SIGNAL_CAP)


def docs_signal(docs: DocMetrics) -> float:
    """Comment lines per code line added, plus a bonus for README/docs additions."""
    ratio = DOC_RATIO_SCALE * docs.net_doc_lines / max(docs.code_lines_added, DOC_RATIO_FLOOR)
    bonus = DOC_FILE_SIGNAL if docs.doc_file_lines_added > 0 else 0
    return clamp(ratio + bonus, -DOC_SIGNAL_CAP, DOC_SIGNAL_CAP)


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
    return clamp(signal, -COMPLEXITY_SIGNAL_CAP, COMPLEXITY_SIGNAL_CAP)


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
    return clamp(density, 0, LINT_SIGNAL_CAP)


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
