"""Unified diff parsing: which lines a commit added and removed, by line number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_Lines = list[tuple[int, str]]  # (line number, text)


@dataclass(frozen=True)
class Hunk:
    """One `@@` block; counts follow git's convention (an omitted count is 1)."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int


@dataclass(frozen=True)
class FileDiff:
    """Added lines keyed by their new line number, removed lines by their old one (1-based)."""

    hunks: tuple[Hunk, ...] = ()
    added: tuple[tuple[int, str], ...] = ()
    removed: tuple[tuple[int, str], ...] = ()
    # Each run of changed lines as (old row, old count, new row, new count), 0-based rows:
    # what an incremental re-parse needs to know about the edit.
    blocks: tuple[tuple[int, int, int, int], ...] = ()

    @cached_property
    def added_rows(self) -> frozenset[int]:
        """0-based rows of the new text that the commit wrote (tree-sitter's numbering)."""
        return frozenset(number - 1 for number, _ in self.added)

    @cached_property
    def removed_rows(self) -> frozenset[int]:
        """0-based rows of the old text that the commit deleted."""
        return frozenset(number - 1 for number, _ in self.removed)

    def old_row_of(self, new_row: int) -> int:
        """Where a row of the new text was in the old one (a changed row: its block's start)."""
        return _map_row(self.blocks, new_row, 2, 0)

    def new_row_of(self, old_row: int) -> int:
        """Where a row of the old text is in the new one (a changed row: its block's start)."""
        return _map_row(self.blocks, old_row, 0, 2)


def _map_row(blocks: tuple[tuple[int, int, int, int], ...], row: int, side: int, other: int) -> int:
    """Map a row through the change blocks from one side (0: old, 2: new) to the other."""
    shift = 0
    for block in blocks:
        start, count = block[side], block[side + 1]
        if row < start:
            break
        if row < start + count:
            return block[other] + min(row - start, max(block[other + 1] - 1, 0))
        shift = (block[other] + block[other + 1]) - (start + count)
    return row + shift


EMPTY_DIFF = FileDiff()


def _header(line: str) -> Hunk | None:
    """Parse a hunk header, or None when the line is not one."""
    match = _HUNK_HEADER.match(line)
    if match is None:
        return None
    old_start, old_count, new_start, new_count = match.groups()
    return Hunk(
        int(old_start),
        1 if old_count is None else int(old_count),
        int(new_start),
        1 if new_count is None else int(new_count),
    )


def parse_patch(patch: str | None) -> FileDiff:
    """Parse a unified diff; anything that is not a hunk line is skipped, never an error.

    GitHub's `patch` holds only hunks; git's output also has `diff --git`
    headers. Both work. Between hunks, lines are only looked at for a header;
    each hunk's body is read by `_read_hunk`.
    """
    if not patch:
        return EMPTY_DIFF
    hunks: list[Hunk] = []
    added: _Lines = []
    removed: _Lines = []
    blocks: list[list[int]] = []
    lines = iter(patch.split("\n"))
    for line in lines:
        hunk = _header(line) if line.startswith("@@") else None
        if hunk is not None:
            hunks.append(hunk)
            _read_hunk(hunk, lines, added, removed, blocks)
    edits = tuple((b[0], b[1], b[2], b[3]) for b in blocks)
    return FileDiff(tuple(hunks), tuple(added), tuple(removed), edits)


def _read_hunk(
    hunk: Hunk, lines: Iterator[str], added: _Lines, removed: _Lines, blocks: list[list[int]]
) -> None:
    """Read one hunk's body from `lines`, appending its changed lines and change blocks.

    The hunk ends when its header's counts are used up, so a removed line that
    itself starts with `--` is never taken for a header. One flat loop with local
    counters: this runs for every line of every commit.
    """
    # An empty side names the line *before* the change: the change starts after it.
    old_line = hunk.old_start + (hunk.old_count == 0)
    new_line = hunk.new_start + (hunk.new_count == 0)
    old_left, new_left = hunk.old_count, hunk.new_count
    block: list[int] | None = None
    if old_left <= 0 and new_left <= 0:
        return
    for line in lines:
        first = line[:1]
        if first in ("+", "-") and block is None:
            block = [max(old_line - 1, 0), 0, max(new_line - 1, 0), 0]
            blocks.append(block)
        if first == "+":
            added.append((new_line, line[1:]))
            new_line += 1
            new_left -= 1
            block[3] += 1  # type: ignore[index]
        elif first == "-":
            removed.append((old_line, line[1:]))
            old_line += 1
            old_left -= 1
            block[1] += 1  # type: ignore[index]
        elif first != "\\":
            block = None
            old_line, new_line = old_line + 1, new_line + 1
            old_left, new_left = old_left - 1, new_left - 1
        if old_left <= 0 and new_left <= 0:
            return
