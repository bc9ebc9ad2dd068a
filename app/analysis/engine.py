"""Analyse one commit: classify its files, measure every family, score it.

`analyze_commit` is synchronous and pure apart from one ruff process per
commit with Python files; it is CPU-bound, so async callers run it in a thread.
The same commit always gets the same result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from app.analysis.change import ChangeMetrics, measure_change
from app.analysis.commit import Commit
from app.analysis.complexity import ComplexityMetrics, FunctionChange, measure_complexity
from app.analysis.docs import DocMetrics, measure_docs
from app.analysis.files import FileView, view_commit
from app.analysis.findings import LineFinding, collect
from app.analysis.lint import PendingLint
from app.analysis.parsing import BlobCache
from app.analysis.reasons import score_commit
from app.analysis.scoring import Score
from app.analysis.security import SecurityMetrics, measure_security
from app.analysis.signals import Signals, burden_delta, compute_signals
from app.analysis.style import StyleMetrics, measure_style, python_versions
from app.analysis.testing import TestMetrics, measure_tests

MAX_LISTED_FUNCTIONS = 10  # functions listed in the metrics document, most burden first
MAX_LISTED_FINDINGS = 10
MAX_STORED_LINE_FINDINGS = 500  # what a check run may annotate at most (the config's cap)


@dataclass(frozen=True)
class LanguageMetrics:
    """Lines changed per language (included code only) and the dominant one."""

    lines_by_language: dict[str, int] = field(default_factory=dict)
    primary: str | None = None


@dataclass(frozen=True)
class CommitStats:
    """The commit's size, and how much of it was analysed deeply."""

    files_changed: int = 0
    additions: int = 0
    deletions: int = 0
    files_analysed: int = 0
    files_excluded: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisResult:
    """Every family's metrics for one commit, and its score."""

    sha: str
    language: LanguageMetrics
    complexity: ComplexityMetrics
    tests: TestMetrics
    docs: DocMetrics
    style: StyleMetrics
    security: SecurityMetrics
    stats: CommitStats
    signals: Signals
    score: Score
    change: ChangeMetrics = field(default_factory=ChangeMetrics)
    findings: tuple[LineFinding, ...] = ()  # only with `annotate=True`

    @property
    def complexity_score(self) -> float:
        """Net complexity burden added to the touched functions (seed column)."""
        return self.signals.complexity

    @property
    def test_coverage_delta(self) -> float:
        """The tests signal, a proxy for coverage change in ±40 (seed column)."""
        return self.signals.tests

    @property
    def documentation_score(self) -> float:
        """The documentation signal in ±25 (seed column)."""
        return self.signals.docs

    @property
    def linting_violations(self) -> int:
        """Lint problems introduced on changed lines (seed column)."""
        return self.style.total

    @property
    def security_issues(self) -> int:
        """Secrets plus risky calls added (seed column)."""
        return self.security.issues

    def metrics_dict(self) -> dict[str, Any]:
        """A JSON-ready document of the metrics (secrets appear redacted only)."""
        return metrics_document(self)


def measure_language(views: Sequence[FileView]) -> LanguageMetrics:
    """Lines changed per language over included code, weighted by additions plus deletions."""
    lines: Counter[str] = Counter()
    for view in views:
        if view.is_code and view.language:
            lines[view.language] += view.change.additions + view.change.deletions
    ranked = sorted(lines.items(), key=lambda item: (-item[1], item[0]))
    return LanguageMetrics(dict(ranked), ranked[0][0] if ranked else None)


def measure_stats(views: Sequence[FileView]) -> CommitStats:
    """Counts over every changed file, excluded or not."""
    excluded = Counter(view.excluded for view in views if view.excluded is not None)
    return CommitStats(
        files_changed=len(views),
        additions=sum(view.change.additions for view in views),
        deletions=sum(view.change.deletions for view in views),
        files_analysed=sum(view.deep for view in views),
        files_excluded=dict(sorted(excluded.items())),
    )


def analyze_commit(
    commit: Commit,
    *,
    ignore: Sequence[str] = (),
    cache: BlobCache | None = None,
    run_ruff: bool = True,
    annotate: bool = False,
) -> AnalysisResult:
    """Measure and score one commit. `ignore` holds the repository's extra exclusion globs;
    `annotate` also points at the lines that cost health (check runs show them)."""
    cache = cache if cache is not None else BlobCache()
    views = view_commit(commit, ignore, cache)
    versions = python_versions([view for view in views if view.is_code]) if run_ruff else []
    lint = PendingLint(cache, versions)  # ruff runs on another core meanwhile
    tests, docs = measure_tests(views), measure_docs(views)
    complexity = measure_complexity(views)
    security = measure_security(views)
    lint_found = lint.result()
    style = measure_style(views, lint_found)
    change = measure_change(views)
    signals = compute_signals(tests, docs, complexity, style, change)
    return AnalysisResult(
        sha=commit.info.sha,
        language=measure_language(views),
        complexity=complexity,
        tests=tests,
        docs=docs,
        style=style,
        security=security,
        stats=measure_stats(views),
        signals=signals,
        score=score_commit(signals, tests, docs, complexity, style, security, change),
        change=change,
        findings=(
            collect(views, lint_found, complexity, security, style, tests.source_lines_added)
            if annotate
            else ()
        ),
    )


def flat(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, containers copied one level (much cheaper than asdict)."""
    return {item.name: _copy(getattr(record, item.name)) for item in fields(record)}


def _copy(value: Any) -> Any:
    """A shallow copy of lists and dicts; other values as they are."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _function_entry(change: FunctionChange) -> dict[str, Any]:
    """One touched function for the metrics document."""
    return {
        "path": change.path,
        "name": change.name,
        "before": flat(change.before) if change.before else None,
        "after": flat(change.after) if change.after else None,
        "burden_delta": round(burden_delta(change), 1),
    }


def _complexity_document(complexity: ComplexityMetrics) -> dict[str, Any]:
    """The complexity family, listing the touched functions with the most burden change."""
    ranked = sorted(complexity.functions, key=lambda c: -abs(burden_delta(c)))
    return {
        "functions_touched": complexity.functions_touched,
        "complexity_increase": complexity.complexity_increase,
        "complexity_decrease": complexity.complexity_decrease,
        "worst": _function_entry(complexity.worst) if complexity.worst else None,
        "functions": [_function_entry(c) for c in ranked[:MAX_LISTED_FUNCTIONS]],
        "files_parsed": complexity.files_parsed,
        "parse_errors": complexity.parse_errors,
    }


def _security_document(security: SecurityMetrics) -> dict[str, Any]:
    """The security family; secrets are listed by kind, place and redacted description."""
    return {
        "secrets": [flat(s) for s in security.secrets[:MAX_LISTED_FINDINGS]],
        "secrets_count": len(security.secrets),
        "possible_secrets": [flat(s) for s in security.possible_secrets[:MAX_LISTED_FINDINGS]],
        "possible_secrets_count": len(security.possible_secrets),
        "risky_calls": security.risky_by_kind(),
        "manifests_changed": security.manifests_changed,
        "lockfiles_changed": security.lockfiles_changed,
    }


def metrics_document(result: AnalysisResult) -> dict[str, Any]:
    """Everything measured, as plain JSON types."""
    return {
        "quality_score": result.score.quality_score,
        "complexity_score": result.complexity_score,
        "test_coverage_delta": result.test_coverage_delta,
        "documentation_score": result.documentation_score,
        "linting_violations": result.linting_violations,
        "security_issues": result.security_issues,
        "poisoned": result.score.poisoned,
        "language": flat(result.language),
        "complexity": _complexity_document(result.complexity),
        "tests": flat(result.tests),
        "docs": flat(result.docs),
        "style": {**flat(result.style), "total": result.style.total},
        "security": _security_document(result.security),
        "stats": flat(result.stats),
        "change": flat(result.change),
        "signals": flat(result.signals),
        **(
            {"findings": [flat(f) for f in result.findings[:MAX_STORED_LINE_FINDINGS]]}
            if result.findings
            else {}
        ),
    }
