"""Style: only problems a commit introduces on the lines it changed count."""

from __future__ import annotations

import pytest

from app.analysis.engine import analyze_commit
from app.analysis.style import StyleMetrics, dominant_indent
from tests.analysis.helpers import change, commit_of


def _style(*files) -> StyleMetrics:  # type: ignore[no-untyped-def]
    return analyze_commit(commit_of(*files)).style


def test_ruff_counts_new_findings_on_added_lines_only() -> None:
    before = "import os\n\n\ndef f(x):\n    return x\n"
    after = (
        "import os\nimport sys\n\n\ndef f(x):\n    if x == None:\n        return x\n    return x\n"
    )
    style = _style(change("app/m.py", before, after))
    # `import os` was already unused (unchanged line): not ours. sys is new, so is `== None`.
    assert style.ruff == {"E711": 1, "F401": 1}
    assert style.ruff_available


def test_a_rewritten_line_keeping_its_problem_is_not_new() -> None:
    before = "def f(x):\n    return x == None\n"
    after = "def f(x):\n    return (x == None)\n"
    assert _style(change("app/m.py", before, after)).ruff == {}


def test_line_checks_on_added_lines() -> None:
    before = "def f():\n    return 1\n"
    after = (
        "def f():\n"
        "    x = 1   \n"  # trailing whitespace
        "\ty = 2\n"  # a tab in a file indented with spaces
        f"    z = '{'a' * 130}'\n"  # long line
        "    breakpoint()\n"  # debug
        "    # TODO: tidy\n"  # new TODO in a comment
        "    s = 'TODO in a string'\n"
        "    return 1\n"
    )
    style = _style(change("app/m.py", before, after))
    assert (style.trailing_whitespace, style.mixed_indentation, style.long_lines) == (1, 1, 1)
    assert (style.debug_prints, style.todos) == (1, 1)


def test_resolved_todos_offset_new_ones() -> None:
    before = "// TODO: one\n// TODO: two\nlet a = 1;\n"
    after = "// TODO: three\nlet a = 1;\n"
    assert _style(change("src/a.js", before, after)).todos == 0


def test_debug_prints_in_tests_are_fine() -> None:
    code = "test('x', () => {\n  console.log('debug');\n});\n"
    assert _style(change("src/a.test.js", None, code)).debug_prints == 0
    assert _style(change("src/a.js", None, "console.log('debug');\n")).debug_prints == 1


def test_go_files_are_tab_indented_and_crlf_is_not_trailing_space() -> None:
    go = "package p\n\nfunc f() {\n\treturn\n}\n"
    assert _style(change("p/f.go", None, go)).mixed_indentation == 0
    crlf = "int a;\r\nint b;\r\n"
    assert _style(change("src/a.c", None, crlf)).trailing_whitespace == 0


def test_space_before_tab_is_always_mixed() -> None:
    assert (
        _style(change("src/a.js", None, "function f() {\n \treturn 1;\n}\n")).mixed_indentation == 1
    )


def test_docs_and_data_files_are_not_linted() -> None:
    style = _style(change("README.md", None, "trailing   \n" + "x" * 200 + "\n"))
    assert style.total == 0 and style.lines_checked == 0


def test_dominant_indent() -> None:
    assert dominant_indent(b"a\n  b\n  c\n\td\n") == " "
    assert dominant_indent(b"\ta\n\tb\n  \n") == "\t"
    assert dominant_indent(b"a\nb\n") is None


def test_without_ruff_only_line_checks_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.analysis.lint.ruff_binary", lambda: None)
    style = _style(change("app/m.py", None, "import os\nx = 1   \n"))
    assert not style.ruff_available
    assert style.ruff == {} and style.trailing_whitespace == 1


def test_python_print_left_in_source_is_a_debug_print() -> None:
    source = (
        "def f(x):\n    print(x)\n    pprint(x)\n    fingerprint(x)\n    self.print(x)\n"
        "    return x\n"
    )
    assert _style(change("app/m.py", None, source)).debug_prints == 2
    assert _style(change("tests/test_m.py", None, source)).debug_prints == 0


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("app/m.py", 'HELP = "call print(x) to see it"\n# print(x) was here\n'),
        ("app/m.py", 'def f():\n    """Example:\n\n    print(f())\n    """\n'),
        (
            "app/m.py",
            "import sys\n\n\ndef f(x):\n    print(\n        x,\n        file=sys.stderr,\n    )\n",
        ),
        (
            "app/tool.py",
            'def main():\n    print("hi")\n\n\nif __name__ == "__main__":\n    main()\n',
        ),
        ("scripts/release.py", 'print("released")\n'),
        ("src/a.js", "const help = 'console.log(x) prints';\n"),
    ],
)
def test_prints_in_strings_comments_and_scripts_are_not_debug_prints(
    path: str, source: str
) -> None:
    assert _style(change(path, None, source)).debug_prints == 0


def test_a_print_to_stdout_beside_one_to_a_file_still_counts() -> None:
    source = "import sys\n\n\ndef f(x):\n    print(x, file=sys.stderr)\n    print(x)\n"
    assert _style(change("app/m.py", None, source)).debug_prints == 1


def test_tabs_inside_string_literals_are_not_mixed_indentation() -> None:
    python = (
        "def f():\n"
        '    """Usage:\n'
        "\n"
        "\tf()  # a tab inside the docstring is text\n"
        '    """\n'
        "    table = '''\n"
        "\ta\tb\n"
        "'''\n"
        "\treturn table\n"  # a real tab-indented line in a space-indented file
    )
    assert _style(change("app/m.py", None, python)).mixed_indentation == 1
    javascript = "function f() {\n  const a = 1;\n  const b = 2;\n  return `\n\tline one\n`;\n}\n"
    assert _style(change("src/a.js", None, javascript)).mixed_indentation == 0
