"""The tree edits that turn one version of a file into the next, for incremental parsing.

A diff's change blocks say which rows changed; tree-sitter wants byte offsets
and (row, column) points. The stretches between blocks are checked byte for
byte, so a patch that does not describe these exact versions gives no edits.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from itertools import accumulate

Block = tuple[int, int, int, int]  # (old row, old count, new row, new count), 0-based rows
Edit = tuple[int, int, int, tuple[int, int], tuple[int, int], tuple[int, int]]


def line_starts(data: bytes) -> list[int]:
    """Byte offset of the start of every line (C-level loops only: this sees every line)."""
    return list(accumulate(map((1).__add__, map(len, data.split(b"\n")[:-1])), initial=0))


def _position(starts: list[int], row: int, size: int) -> int:
    """Byte offset of a row's start; rows past the end map to the end."""
    return starts[row] if row < len(starts) else size


def _point(starts: list[int], offset: int) -> tuple[int, int]:
    """(row, column in bytes) of a byte offset."""
    row = bisect.bisect_right(starts, offset) - 1
    return row, offset - starts[row]


def incremental_edits(before: bytes, after: bytes, blocks: Iterable[Block]) -> list[Edit] | None:
    """The tree edits that turn `before` into `after`, or None if the blocks do not.

    Edits are in ascending order, each in the coordinates of the text edited so
    far, so the text before an edit is already the "after" text. The unchanged
    stretches between blocks are compared byte for byte: a patch that does not
    describe these exact versions (cut short, other line endings) falls back to
    a full parse instead of a wrong tree.
    """
    old_starts, new_starts = line_starts(before), line_starts(after)
    edits: list[Edit] = []
    old_pos = new_pos = 0
    for old_row, old_count, new_row, new_count in blocks:
        old_start = _position(old_starts, old_row, len(before))
        old_end = _position(old_starts, old_row + old_count, len(before))
        new_start = _position(new_starts, new_row, len(after))
        new_end = _position(new_starts, new_row + new_count, len(after))
        if old_start < old_pos or before[old_pos:old_start] != after[new_pos:new_start]:
            return None
        start_point = _point(new_starts, new_start)
        old_row_end, old_column = _point(old_starts, old_end)
        old_end_point = (
            start_point[0] + old_row_end - _point(old_starts, old_start)[0],
            old_column,
        )
        edits.append((new_start, new_start + old_end - old_start, new_end,
                      start_point, old_end_point, _point(new_starts, new_end)))  # fmt: skip
        old_pos, new_pos = old_end, new_end
    return edits if before[old_pos:] == after[new_pos:] else None
