"""Documentation: comments and docstrings added relative to code added, and doc files touched.

Files with a grammar and contents are read through tree-sitter (docstrings
count); others by their lines' comment openers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.analysis.diff import FileDiff
from app.analysis.files import FileView
from app.analysis.languages import comment_prefixes
from app.analysis.parsing import ParsedBlob


@dataclass(frozen=True)
class DocMetrics:
    """Documentation a commit added and removed."""

    doc_lines_added: int = 0
    doc_lines_removed: int = 0
    code_lines_added: int = 0
    doc_files_changed: list[str] = field(default_factory=list)
    doc_file_lines_added: int = 0
    doc_file_lines_removed: int = 0

    @property
    def net_doc_lines(self) -> int:
        """Comment and docstring lines added minus removed."""
        return self.doc_lines_added - self.doc_lines_removed


def _line_comments(lines: Sequence[tuple[int, str]], prefixes: tuple[str, ...]) -> set[int]:
    """Line numbers whose text starts with a comment opener."""
    return {number for number, text in lines if prefixes and text.lstrip().startswith(prefixes)}


def _comment_numbers(
    lines: Sequence[tuple[int, str]], parsed: ParsedBlob | None, prefixes: tuple[str, ...]
) -> set[int]:
    """1-based line numbers among `lines` that are comments or docstrings."""
    if parsed is None:
        return _line_comments(lines, prefixes)
    rows = parsed.comment_rows(number - 1 for number, _ in lines)
    return {row + 1 for row in rows}


def _non_blank(lines: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Lines with something on them."""
    return [(number, text) for number, text in lines if text.strip()]


def _code_file_counts(view: FileView) -> tuple[int, int, int]:
    """(doc lines added, doc lines removed, code lines added) of one source file."""
    diff: FileDiff = view.diff
    prefixes = comment_prefixes(view.language)
    added, removed = _non_blank(diff.added), _non_blank(diff.removed)
    doc_added = _comment_numbers(added, view.after, prefixes)
    doc_removed = _comment_numbers(removed, view.before, prefixes)
    return len(doc_added), len(doc_removed), len(added) - len(doc_added)


def measure_docs(views: Sequence[FileView]) -> DocMetrics:
    """Documentation counters over a commit's included files."""
    doc_added = doc_removed = code_added = file_added = file_removed = 0
    doc_files: list[str] = []
    for view in views:
        if view.excluded is not None:
            continue
        if view.is_doc:
            doc_files.append(view.path)
            file_added += len(_non_blank(view.diff.added))
            file_removed += len(_non_blank(view.diff.removed))
        elif view.is_source:
            added, removed, code = _code_file_counts(view)
            doc_added, doc_removed, code_added = (
                doc_added + added,
                doc_removed + removed,
                code_added + code,
            )
    return DocMetrics(doc_added, doc_removed, code_added, doc_files, file_added, file_removed)
