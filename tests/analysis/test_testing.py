"""Counting Python test cases never fails a commit's analysis, whatever the file holds."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from app.analysis import testing

PARAMETRIZED = """
import pytest

@pytest.mark.parametrize("n", [1, 2, 3])
def test_rows(n):
    assert n

def test_one():
    assert not None
"""


def test_parametrized_rows_count_as_cases() -> None:
    assert testing.python_cases(PARAMETRIZED) == 4


@pytest.mark.parametrize(
    "source",
    [
        "def test_a(:\n",  # a syntax error
        "x = " + "-" * 100_000 + "1\n",  # MemoryError inside the parser
        "def test_a():\n    x = " + "+".join(["1"] * 100_000) + "\n",  # RecursionError
    ],
    ids=["syntax", "memory", "recursion"],
)
def test_a_file_python_cannot_parse_is_none(source: str) -> None:
    assert testing.python_cases(source) is None


def _flaky_parse(failures: int) -> Any:
    """`ast.parse` raising CPython 3.11's spurious SystemError `failures` times first."""
    real = ast.parse
    calls = {"n": 0}

    def parse(source: str, *args: Any, **kwargs: Any) -> ast.Module:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise SystemError("AST constructor recursion depth mismatch (before=90, after=65)")
        return real(source, *args, **kwargs)

    return parse


def test_a_spurious_system_error_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing.ast, "parse", _flaky_parse(1))
    assert testing.python_cases(PARAMETRIZED) == 4


def test_a_lasting_system_error_gives_up_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing.ast, "parse", _flaky_parse(2))
    assert testing.python_cases(PARAMETRIZED) is None
