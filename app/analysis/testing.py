"""Tests: test files by each language's conventions, test functions and assertions.

This is a proxy for coverage, not a measurement of it: it counts what a commit
adds to and removes from the test suite, set against the source lines it adds.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.analysis.files import FileView

TEST_DIRS = frozenset({"test", "tests", "spec", "specs", "__tests__", "testing", "androidtest"})
_TEST_NAMES = re.compile(
    r"^(test_.*\.py|.*_test\.py|conftest\.py"
    r"|.*\.(test|spec)\.[cm]?[jt]sx?"
    r"|.*_test\.go"
    r"|.*(Test|Tests|IT|Spec)\.(java|kt|kts|scala)"
    r"|.*Tests?\.cs"
    r"|.*_(test|unittest)\.(c|cc|cpp|cxx)|test_.*\.(c|cc|cpp|cxx)"
    r"|.*_(spec|test)\.rb|test_.*\.rb"
    r"|.*Test\.php"
    r"|.*(Tests?|Spec)\.swift)$"
)

_JS_TESTS = r"\b(?:it|test)(?:\.(?:only|skip|concurrent|each\(.*?\)))?\s*\(\s*[`'\"]"
_JVM_TESTS = r"@(?:Test|ParameterizedTest|RepeatedTest|TestFactory)\b"
_C_TESTS = r"\b(?:TEST|TEST_F|TEST_P|TYPED_TEST|TEST_CASE|SCENARIO)\s*\("
TEST_FUNCTION_PATTERNS: dict[str, re.Pattern[str]] = {
    "Python": re.compile(r"^[ \t]*(?:async\s+)?def\s+test\w*\s*\(", re.MULTILINE),
    "JavaScript": re.compile(_JS_TESTS),
    "TypeScript": re.compile(_JS_TESTS),
    "Go": re.compile(r"^func\s+(?:Test|Benchmark|Fuzz|Example)\w*\s*\(", re.MULTILINE),
    "Rust": re.compile(r"#\[(?:\w+::)*test\]"),
    "Java": re.compile(_JVM_TESTS),
    "Kotlin": re.compile(_JVM_TESTS),
    "C#": re.compile(r"\[(?:Test|Fact|Theory|TestMethod|TestCase)\b"),
    "C": re.compile(_C_TESTS),
    "C++": re.compile(_C_TESTS),
    "Ruby": re.compile(
        r"^[ \t]*(?:it|specify|scenario|test)[ \t]*\(?[ \t]*['\"]|^[ \t]*def\s+test_\w+",
        re.MULTILINE,
    ),
    "PHP": re.compile(r"function\s+test\w*\s*\(|@test\b|#\[Test\]"),
    "Swift": re.compile(r"func\s+test\w*\s*\(|@Test\b"),
}

_JS_ASSERT = r"\bexpect\s*\(|\bassert(?:\.\w+)?\s*\(|\.should\b"
_JVM_ASSERT = r"\bassert\w*\s*\(|\bassert\s|\bverify\s*\("
_C_ASSERT = r"\b(?:ASSERT|EXPECT|REQUIRE|CHECK)(?:_\w+)?\s*\(|\bassert\s*\("
ASSERTION_PATTERNS: dict[str, re.Pattern[str]] = {
    "Python": re.compile(
        r"\bassert\b|\bself\.assert\w+\s*\(|\bpytest\.raises\s*\(|\.assert_\w+\s*\("
    ),
    "JavaScript": re.compile(_JS_ASSERT),
    "TypeScript": re.compile(_JS_ASSERT),
    "Go": re.compile(
        r"\bt\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\s*\(|\b(?:assert|require)\.\w+\s*\("
    ),
    "Rust": re.compile(r"\b(?:debug_)?assert(?:_eq|_ne)?!\s*\("),
    "Java": re.compile(_JVM_ASSERT),
    "Kotlin": re.compile(_JVM_ASSERT),
    "C#": re.compile(r"\bAssert\.\w+\s*\(|\.Should\(\)"),
    "C": re.compile(_C_ASSERT),
    "C++": re.compile(_C_ASSERT),
    "Ruby": re.compile(r"\bexpect\s*[({]|\bassert\w*\b|\brefute\w*\b|\.should\b"),
    "PHP": re.compile(r"\$this->assert\w+\s*\(|\bself::assert\w+\s*\(|\bexpect\s*\("),
    "Swift": re.compile(r"\bXCTAssert\w*\s*\(|#expect\s*\(|#require\s*\("),
}  # fmt: skip

# Rust keeps unit tests inside source files, so its test functions count anywhere.
INLINE_TEST_LANGUAGES = frozenset({"Rust"})
PATH_CACHE_SIZE = 65_536  # paths repeat across commits; classify each once


@lru_cache(maxsize=PATH_CACHE_SIZE)
def is_test_path(path: str) -> bool:
    """A test file by name (`test_x.py`, `x.spec.ts`, `x_test.go`…) or by directory."""
    parts = path.split("/")
    if any(part.lower() in TEST_DIRS for part in parts[:-1]):
        return True
    return bool(_TEST_NAMES.match(posixpath.basename(path)))


@dataclass(frozen=True)
class TestMetrics:
    """What a commit did to the test suite."""

    __test__ = False  # not a pytest class, despite the name

    test_files_added: int = 0
    test_files_changed: int = 0
    test_files_removed: int = 0
    test_functions_added: int = 0
    test_functions_removed: int = 0
    assertions_added: int = 0
    assertions_removed: int = 0
    test_lines_added: int = 0
    test_lines_removed: int = 0
    source_lines_added: int = 0
    test_cases_added: int = 0
    test_cases_removed: int = 0

    @property
    def net_test_functions(self) -> int:
        """Test functions added minus removed."""
        return self.test_functions_added - self.test_functions_removed

    @property
    def net_test_cases(self) -> int:
        """Test cases the suite gained (parametrized cases count one each) minus those it lost."""
        return self.test_cases_added - self.test_cases_removed

    @property
    def touched(self) -> bool:
        """True when the commit changed any test line."""
        return self.test_lines_added + self.test_lines_removed > 0

    @property
    def net_test_lines(self) -> int:
        """Non-blank test lines added minus removed."""
        return self.test_lines_added - self.test_lines_removed


def count_matches(pattern: re.Pattern[str] | None, lines: Sequence[str]) -> int:
    """How many times a pattern occurs over some lines (one regex pass over their join)."""
    if pattern is None or not lines:
        return 0
    return len(pattern.findall("\n".join(lines)))


def _non_blank(lines: Sequence[tuple[int, str]]) -> list[str]:
    """The texts of the non-blank lines."""
    return [text for _, text in lines if text.strip()]


def _file_counts(view: FileView) -> dict[str, int]:
    """The test counters one file contributes."""
    added, removed = _non_blank(view.diff.added), _non_blank(view.diff.removed)
    language = view.language or ""
    counts: dict[str, int] = {}
    if view.is_test or language in INLINE_TEST_LANGUAGES:
        function_pattern = TEST_FUNCTION_PATTERNS.get(language)
        counts["test_functions_added"] = count_matches(function_pattern, added)
        counts["test_functions_removed"] = count_matches(function_pattern, removed)
    if view.is_test:
        status = view.change.status
        counts["test_files_added"] = int(status == "added")
        counts["test_files_removed"] = int(status == "removed")
        counts["test_files_changed"] = int(status in {"modified", "renamed"})
        counts["assertions_added"] = count_matches(ASSERTION_PATTERNS.get(language), added)
        counts["assertions_removed"] = count_matches(ASSERTION_PATTERNS.get(language), removed)
        counts["test_lines_added"], counts["test_lines_removed"] = len(added), len(removed)
        gained = _case_change(view, language, counts)
        counts["test_cases_added"], counts["test_cases_removed"] = max(gained, 0), max(-gained, 0)
    else:
        counts["source_lines_added"] = len(added)
        if language in INLINE_TEST_LANGUAGES:  # Rust's #[test] functions live beside the code
            counts["test_cases_added"] = counts.get("test_functions_added", 0)
            counts["test_cases_removed"] = counts.get("test_functions_removed", 0)
    return counts


def _decorator_cases(decorator: ast.expr) -> int:
    """Cases one `parametrize` decorator makes: its literal list's length, else 1."""
    if not isinstance(decorator, ast.Call):
        return 1
    func = decorator.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name != "parametrize" or len(decorator.args) < 2:
        return 1
    values = decorator.args[1]
    if isinstance(values, (ast.List, ast.Tuple, ast.Set)):
        return max(len(values.elts), 1)
    return 1


def _parse_python(source: str) -> ast.Module | None:
    """`ast.parse`, or `None` for a file Python itself cannot turn into a tree.

    Deep nesting raises `RecursionError` or `MemoryError` rather than `SyntaxError`. CPython
    3.11 can also raise a spurious `SystemError` ("AST constructor recursion depth mismatch",
    python/cpython#106905) when trees are built on several threads; it is tried once more so
    the count does not depend on what another thread did, and then given up on. None of
    these may fail the commit's analysis.
    """
    for attempt in range(2):
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        except SystemError:
            if attempt:
                return None
    return None


def python_cases(source: str) -> int | None:
    """Test cases in a Python test file: each `test*` function times its parametrized rows.

    `None` when the file does not parse (the caller falls back to counting definitions).
    """
    tree = _parse_python(source)
    if tree is None:
        return None
    total = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
            "test"
        ):
            cases = 1
            for decorator in node.decorator_list:
                cases *= _decorator_cases(decorator)
            total += cases
    return total


def file_cases(content: bytes | None, language: str) -> int | None:
    """Test cases in one version of a test file, or `None` when it cannot be counted."""
    if content is None:
        return None
    text = content.decode("utf-8", "replace")
    if language == "Python":
        return python_cases(text)
    pattern = TEST_FUNCTION_PATTERNS.get(language)
    return len(pattern.findall(text)) if pattern is not None else None


def _case_change(view: FileView, language: str, counts: dict[str, int]) -> int:
    """Cases gained by one test file: whole versions compared when both are known.

    Comparing versions, not diff lines, is what makes three tests folded into one
    parametrized test with five cases a gain of two, and a data table no test at all.
    """
    status = view.change.status
    before = 0 if status == "added" else file_cases(view.change.before, language)
    after = 0 if status == "removed" else file_cases(view.change.after, language)
    if before is None or after is None:
        return counts.get("test_functions_added", 0) - counts.get("test_functions_removed", 0)
    return after - before


def measure_tests(views: Sequence[FileView]) -> TestMetrics:
    """Sum the test counters over the included code files of a commit."""
    totals: dict[str, int] = {}
    for view in views:
        if not view.is_code:
            continue
        for name, value in _file_counts(view).items():
            totals[name] = totals.get(name, 0) + value
    return TestMetrics(**totals)
