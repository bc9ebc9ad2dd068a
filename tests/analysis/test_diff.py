"""Unified diff parsing."""

from app.analysis.diff import parse_patch
from tests.analysis.helpers import make_patch


def test_numbers_added_and_removed_lines_from_hunk_headers() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n e\n@@ -10 +11 @@ def f\n-x\n+y\n"
    diff = parse_patch(patch)
    assert diff.added == ((2, "c"), (3, "d"), (11, "y"))
    assert diff.removed == ((2, "b"), (10, "x"))
    assert diff.added_rows == frozenset({1, 2, 10})
    assert [h.new_start for h in diff.hunks] == [1, 11]


def test_a_removed_line_starting_with_dashes_is_not_a_header() -> None:
    diff = parse_patch("@@ -1,2 +1,1 @@\n--- not a header\n keep\n")
    assert diff.removed == ((1, "-- not a header"),)
    assert diff.added == ()


def test_git_headers_and_no_newline_markers_are_skipped() -> None:
    patch = (
        "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n"
        "@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n"
    )
    diff = parse_patch(patch)
    assert diff.removed == ((1, "old"),)
    assert diff.added == ((1, "new"),)


def test_garbage_and_empty_patches_give_nothing() -> None:
    assert parse_patch(None).added == ()
    assert parse_patch("").hunks == ()
    assert parse_patch("not a diff\n+plus outside a hunk\n").added == ()


def test_round_trip_with_difflib() -> None:
    before = "one\ntwo\nthree\n"
    after = "one\n2\nthree\nfour\n"
    diff = parse_patch(make_patch(before, after))
    assert diff.added == ((2, "2"), (4, "four"))
    assert diff.removed == ((2, "two"),)
