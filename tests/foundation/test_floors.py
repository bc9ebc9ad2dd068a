"""The house rules of `app/`: floors kept by import-linter, and the size limits.

The architecture issue's "done" says an upward import added on purpose must fail
`lint-imports`, and that no module is over 400 lines nor any function over 40. These tests
keep both true as the code grows.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


def _modules() -> list[Path]:
    return sorted((ROOT / "app").rglob("*.py"))


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the project's contracts over a copy of the code at `tree`."""
    binary = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(binary), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    for package in ("app", "worker"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_floors_hold(copy_of_the_code: Path) -> None:
    result = _lint_imports(copy_of_the_code)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("app/core/text.py", "import app.web.factory"),
        ("app/entities/rules.py", "import app.jobs.ingest"),
        ("app/analysis/diff.py", "import app.infra.github"),
    ],
)
def test_an_upward_import_fails_the_build(copy_of_the_code: Path, module: str, upward: str) -> None:
    target = copy_of_the_code / module
    target.write_text(target.read_text() + f"\n{upward}  # added on purpose\n")
    result = _lint_imports(copy_of_the_code)
    assert result.returncode != 0
    assert "Broken contracts" in result.stdout
    assert upward.split()[1] in result.stdout  # the report names the offending import


def test_no_module_is_over_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_the_limit() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert long == []
