"""Scoring: rounding, the cap, penalties, the quality score and the published rules."""

from __future__ import annotations

from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.docs import DocMetrics
from app.analysis.measure import FunctionMetrics
from app.analysis.reasons import score_commit
from app.analysis.scoring import RULES, Reason, round_points
from app.analysis.security import RiskyCall, SecurityMetrics
from app.analysis.signals import burden, compute_signals
from app.analysis.style import StyleMetrics
from app.analysis.testing import TestMetrics

NO_SECURITY = SecurityMetrics()


def _score(  # type: ignore[no-untyped-def]
    tests: TestMetrics | None = None,
    docs: DocMetrics | None = None,
    complexity: ComplexityMetrics | None = None,
    style: StyleMetrics | None = None,
    security: SecurityMetrics = NO_SECURITY,
):
    tests, docs = tests or TestMetrics(), docs or DocMetrics()
    complexity, style = complexity or ComplexityMetrics(), style or StyleMetrics()
    signals = compute_signals(tests, docs, complexity, style)
    return score_commit(signals, tests, docs, complexity, style, security)


def _monster(cc: int, nesting: int, length: int = 10) -> ComplexityMetrics:
    change = FunctionChange("a.py", "f", None, FunctionMetrics(cc, length, nesting))
    return ComplexityMetrics(functions=[change], functions_touched=1, complexity_increase=cc)


def test_round_points_is_half_away_from_zero() -> None:
    assert [round_points(v) for v in (0.4, 0.5, 1.5, 2.5, -0.5, -1.5, -0.4)] == [
        0,
        1,
        2,
        3,
        -1,
        -2,
        0,
    ]


def test_empty_commit_has_one_zero_reason() -> None:
    score = _score()
    assert score.delta == 0
    assert score.reasons == [Reason("no_signal", 0, "no measurable quality change")]
    assert score.quality_score == 5.0


def test_best_case_is_capped_at_twenty() -> None:
    reduced = FunctionChange("a.py", "f", FunctionMetrics(30, 200, 8), FunctionMetrics(3, 20, 1))
    complexity = ComplexityMetrics(functions=[reduced], functions_touched=1, complexity_decrease=27)
    tests = TestMetrics(test_cases_added=20, test_lines_added=400, source_lines_added=10)
    docs = DocMetrics(doc_lines_added=40, code_lines_added=10, doc_file_lines_added=5)
    score = _score(tests=tests, docs=docs, complexity=complexity)
    points = {r.code: r.points for r in score.reasons}
    # burden 46.5 → 0 per 50 lines (floor 50): −46.5, capped at −40 → +16; tests capped at 5 → +2
    assert points == {"complexity_reduced": 16, "docs_added": 3, "tests_added": 2, "capped": -1}
    assert score.delta == 20
    assert score.quality_score == 10.0


def test_worst_case_is_capped_then_penalised_for_poor_quality() -> None:
    tests = TestMetrics(test_lines_removed=400, test_cases_removed=20)
    docs = DocMetrics(doc_lines_removed=100)
    style = StyleMetrics(long_lines=50, lines_checked=10)
    score = _score(tests=tests, docs=docs, complexity=_monster(60, 9), style=style)
    points = {r.code: r.points for r in score.reasons}
    assert points == {"tests_removed": -2, "docs_removed": -3, "complexity_added": -16,
                      "lint_introduced": -6, "capped": 7, "poor_quality": -5}  # fmt: skip
    assert score.delta == -25
    assert score.quality_score == 0.0


def test_deep_nesting_costs_points() -> None:
    # cc 8 → 3 over the allowance; nesting 6 → 2 × 3; burden 9 per 50 lines (floor 50) → 9
    complexity = _monster(8, 6)
    assert burden(complexity.functions[0].after) == 9
    score = _score(tests=TestMetrics(source_lines_added=10), complexity=complexity)
    assert [(r.code, r.points) for r in score.reasons] == [("complexity_added", -4)]
    assert "a.py:f (cc 8, nesting 6, 10 lines)" in score.reasons[0].detail


def test_risky_calls_are_capped_and_lower_quality() -> None:
    calls = [RiskyCall("eval", "a.py", n) for n in range(5)]
    score = _score(security=SecurityMetrics(risky_calls=calls))
    assert [(r.code, r.points) for r in score.reasons] == [("risky_code", -6)]
    assert score.quality_score == 3.5


def test_reasons_always_sum_to_delta_and_largest_come_first() -> None:
    tests = TestMetrics(test_lines_added=30, test_functions_added=2, source_lines_added=60)
    score = _score(
        tests=tests, complexity=_monster(12, 5), style=StyleMetrics(todos=3, lines_checked=60)
    )
    assert sum(r.points for r in score.reasons) == score.delta
    magnitudes = [abs(r.points) for r in score.reasons]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_with_reason_moves_the_delta() -> None:
    score = _score().with_reason(Reason("gemini_review", 2, "clean"))
    assert score.delta == 2
    assert sum(r.points for r in score.reasons) == 2


def test_every_reason_code_is_published_in_rules() -> None:
    published = {rule["code"] for rule in RULES}
    produced = {"tests_added", "tests_removed", "docs_added", "docs_removed", "complexity_added",
                "complexity_reduced", "lint_introduced", "capped", "risky_code",
                "secret_committed", "poor_quality", "dependencies_changed", "no_signal",
                "gemini_review", "change_size", "change_spread", "functions_touched",
                "possible_secret", "revert", "hotspot"}  # fmt: skip
    assert produced <= published
    assert all(isinstance(rule["rule"], str) and rule["family"] for rule in RULES)
