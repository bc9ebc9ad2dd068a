"""Unified diff parsing: which lines a commit added and removed, by line number."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` block; counts follow git's convention (an omitted count is 1)."""

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

    @property
    def added_rows(self) -> frozenset[int]:
        """0-based rows of the new text that the commit wrote (tree-sitter's numbering)."""
        return frozenset(number - 1 for number, _ in self.added)

    @property
    def removed_rows(self) -> frozenset[int]:
        """0-based rows of the old text that the commit deleted."""
        return frozenset(number - 1 for number, _ in self.removed)


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

    GitHub's ``patch`` holds only hunks; git's output also has ``diff --git``
    headers. Both work. A hunk ends when its header's counts are used up, so a
    removed line that itself starts with ``--`` is never taken for a header.
    """
    if not patch:
        return EMPTY_DIFF
    state = _State()
    for line in patch.split("\n"):
        state.feed(line)
    return FileDiff(tuple(state.hunks), tuple(state.added), tuple(state.removed))


class _State:
    """The line counters of the hunk being read."""

    def __init__(self) -> None:
        self.hunks: list[Hunk] = []
        self.added: list[tuple[int, str]] = []
        self.removed: list[tuple[int, str]] = []
        self.old_line = self.new_line = 0
        self.old_left = self.new_left = 0

    def feed(self, line: str) -> None:
        """Take one line of the patch."""
        if self.old_left <= 0 and self.new_left <= 0:
            self._start(line)
        elif line.startswith("+"):
            self.added.append((self.new_line, line[1:]))
            self.new_line, self.new_left = self.new_line + 1, self.new_left - 1
        elif line.startswith("-"):
            self.removed.append((self.old_line, line[1:]))
            self.old_line, self.old_left = self.old_line + 1, self.old_left - 1
        elif line.startswith("\\"):
            return
        else:
            self.old_line, self.old_left = self.old_line + 1, self.old_left - 1
            self.new_line, self.new_left = self.new_line + 1, self.new_left - 1

    def _start(self, line: str) -> None:
        """Open a hunk if the line is a header; skip it otherwise."""
        hunk = _header(line) if line.startswith("@@") else None
        if hunk is None:
            return
        self.hunks.append(hunk)
        self.old_line, self.old_left = hunk.old_start, hunk.old_count
        self.new_line, self.new_left = hunk.new_start, hunk.new_count
