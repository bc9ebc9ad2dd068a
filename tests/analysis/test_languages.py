"""Per-language fixtures: exact complexity, test and documentation figures."""

from __future__ import annotations

import pytest

from app.analysis.engine import analyze_commit
from app.analysis.measure import FunctionMetrics
from tests.analysis.helpers import change, commit_of
from tests.analysis.lang_cases import CASES, CLAMP_CC, PYTHON, LangCase

GRADE_LENGTH_AFTER = {"Python": 10}  # every other language: 13 lines, signature to brace
GRADE_LENGTH_BEFORE = {"Python": 4}  # every other language: 6


def _analyse(case: LangCase):  # type: ignore[no-untyped-def]
    source = change(case.source_path, case.before, case.after)
    test = change(case.test_path, None, case.test)
    return analyze_commit(commit_of(source, test), run_ruff=False)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.language)
def test_complexity_of_touched_functions(case: LangCase) -> None:
    result = _analyse(case)
    complexity = result.complexity
    clamp_cc = CLAMP_CC.get(case.language, 1)
    assert complexity.functions_touched == 2
    assert complexity.complexity_increase == 4 + clamp_cc
    assert complexity.complexity_decrease == 0
    assert complexity.parse_errors == 0
    worst = complexity.worst
    assert worst is not None and worst.name == case.grade_name
    assert worst.before == FunctionMetrics(2, GRADE_LENGTH_BEFORE.get(case.language, 6), 1)
    assert worst.after == FunctionMetrics(6, GRADE_LENGTH_AFTER.get(case.language, 13), 2)
    clamp = next(c for c in complexity.functions if c.name == case.clamp_name)
    assert clamp.before is None and clamp.after is not None
    assert clamp.after.cyclomatic == clamp_cc


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.language)
def test_tests_figures(case: LangCase) -> None:
    tests = _analyse(case).tests
    assert tests.test_files_added == 1
    assert tests.test_functions_added == 2
    assert tests.assertions_added == 3
    assert tests.test_lines_added == case.test_lines
    assert tests.source_lines_added == case.code_lines + 2
    assert (tests.test_functions_removed, tests.assertions_removed) == (0, 0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.language)
def test_documentation_figures(case: LangCase) -> None:
    result = _analyse(case)
    assert result.docs.doc_lines_added == 2
    assert result.docs.doc_lines_removed == 0
    assert result.docs.code_lines_added == case.code_lines
    assert result.language.primary == case.language


def test_python_score_is_explained_point_by_point() -> None:
    """tests: 2.5 × log2(1 + 2 cases) + 1.7 (tests changed with the source) = 5.7, capped at 5
    → +1.5 → +2; docs: 25×2/20 = 2.5 → +0.5 → +1; change size: 2.5 × (log2(11) − 8) = −11.4
    → +4.54 → +5; functions touched: 5 × log2(3) = 7.9 → −3.17 → −3; burden: grade's 0 → 1
    per 50 lines (floor 50) = 1 → −0.4 → 0; one file, so no spread."""
    score = _analyse(PYTHON).score
    points = {reason.code: reason.points for reason in score.reasons}
    assert points == {"tests_added": 2, "docs_added": 1, "change_size": 5, "functions_touched": -3}
    assert score.delta == 5
    assert score.quality_score == 5.8
    assert not score.poisoned


def test_reversing_the_change_reduces_complexity() -> None:
    source = change(PYTHON.source_path, PYTHON.after, PYTHON.before)
    complexity = analyze_commit(commit_of(source), run_ruff=False).complexity
    assert complexity.complexity_increase == 0
    assert complexity.complexity_decrease == 5
    assert complexity.functions_touched == 2
