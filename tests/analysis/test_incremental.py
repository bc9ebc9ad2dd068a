"""Incremental re-parsing gives exactly the tree a full parse gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.analysis.diff import parse_patch
from app.analysis.incremental import incremental_edits, line_starts
from app.analysis.parsing import parse_blob
from tests.analysis.helpers import make_patch

LINES = ["def f(x):", "    if x:", "        return 1", "    return 2", "", "class A:",
         "    def m(self):", "        pass", "# comment", "x = [1,", "     2]",
         "  bad indent"]  # fmt: skip
TS_LINES = ["function f(x) {", "  if (x) { return 1; }", "}", "class A { m() { return 2; } }",
            "// c", "const y = `t ${x}`;", "let z = (a) => a ?? 1;", "}"]  # fmt: skip


def _same_tree(grammar: str, before: str, after: str) -> bool:
    diff = parse_patch(make_patch(before, after))
    base = parse_blob(grammar, before.encode())
    incremental = parse_blob(grammar, after.encode(), base, diff.blocks)
    full = parse_blob(grammar, after.encode())
    assert base and incremental and full
    return str(incremental.tree.root_node) == str(full.tree.root_node)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=30), st.lists(st.sampled_from(LINES), max_size=30))
def test_python_incremental_equals_full(before: list[str], after: list[str]) -> None:
    assert _same_tree("python", "\n".join(before) + "\n", "\n".join(after) + "\n")


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(TS_LINES), max_size=30),
    st.lists(st.sampled_from(TS_LINES), max_size=30),
)
def test_typescript_incremental_equals_full(before: list[str], after: list[str]) -> None:
    assert _same_tree("typescript", "\n".join(before), "\n".join(after))


def test_a_patch_that_does_not_match_falls_back_to_a_full_parse() -> None:
    blocks = parse_patch(make_patch("x = 9\na = 1\n", "x = 9\na = 2\n")).blocks
    assert incremental_edits(b"x = 9\na = 1\n", b"x = 9\na = 2\n", blocks) is not None
    # The unchanged first line differs: these blocks do not describe this change.
    assert incremental_edits(b"x = 0\na = 1\n", b"x = 9\na = 2\n", blocks) is None
    stale = parse_blob("python", b"x = 0\na = 1\n")
    parsed = parse_blob("python", b"x = 9\na = 2\n", stale, blocks)
    full = parse_blob("python", b"x = 9\na = 2\n")
    assert parsed is not None and full is not None
    assert str(parsed.tree.root_node) == str(full.tree.root_node)


def test_line_starts() -> None:
    assert line_starts(b"ab\ncd\n") == [0, 3, 6]
    assert line_starts(b"ab\ncd") == [0, 3]
    assert line_starts(b"") == [0]


def test_blocks_name_rows_for_insertions_and_deletions() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n e\n@@ -10,0 +12,2 @@\n+x\n+y\n@@ -20 +22,0 @@\n-z\n"
    assert parse_patch(patch).blocks == ((1, 1, 1, 2), (10, 0, 11, 2), (19, 1, 22, 0))
