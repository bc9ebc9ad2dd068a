"""The per-file view every metric family reads: role, language, diff and parsed versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis.commit import ChangedFile, Commit
from app.analysis.diff import EMPTY_DIFF, FileDiff, parse_patch
from app.analysis.incremental import Block
from app.analysis.languages import grammar_of, is_code_language, language_of
from app.analysis.parsing import BlobCache, ParsedBlob
from app.analysis.paths import (
    MAX_DEEP_BYTES,
    MAX_DEEP_FILES,
    exclusion_reason,
    is_binary,
    is_doc_path,
    is_ignored,
    is_manifest,
    looks_generated,
)
from app.analysis.testing import is_test_path

OVER_LIMIT = "over_limit"  # exclusion reason of files past the first MAX_DEEP_FILES


@dataclass(frozen=True)
class FileView:
    """One changed file as the metric families see it."""

    change: ChangedFile
    language: str | None
    grammar: str | None
    diff: FileDiff
    excluded: str | None
    is_test: bool
    is_doc: bool
    is_manifest: bool
    deep: bool
    before: ParsedBlob | None = None
    after: ParsedBlob | None = None

    @property
    def path(self) -> str:
        """The file's path after the commit."""
        return self.change.path

    @property
    def is_code(self) -> bool:
        """Included code (source or test) in a programming language."""
        return self.excluded is None and is_code_language(self.language) and not self.is_doc

    @property
    def is_source(self) -> bool:
        """Included code that is not a test."""
        return self.is_code and not self.is_test


def is_candidate(change: ChangedFile) -> bool:
    """A text file the path rules do not exclude: one that may be analysed."""
    return change.patch is not None and exclusion_reason(change.path) is None


def analysed_paths(files: Sequence[ChangedFile]) -> set[str]:
    """The first `MAX_DEEP_FILES` candidates of a commit; the rest get counts only."""
    return set([change.path for change in files if is_candidate(change)][:MAX_DEEP_FILES])


def deep_paths(files: Sequence[ChangedFile]) -> set[str]:
    """Analysed files with a grammar: the ones whose full contents a source should fetch."""
    return {path for path in analysed_paths(files) if grammar_of(path) is not None}


def _content_exclusion(change: ChangedFile) -> str | None:
    """Exclusions only the content reveals: binary, generated markers, minified text."""
    for content in (change.after, change.before):
        if content is None:
            continue
        if is_binary(content):
            return "binary"
        if looks_generated(content):
            return "generated"
    return None


def _exclusion(change: ChangedFile, ignore: Sequence[str]) -> str | None:
    """Why a file is left out of the quality metrics, if it is."""
    if is_ignored(change.path, ignore):
        return "ignored"
    return exclusion_reason(change.path) or _content_exclusion(change)


def _parse(
    cache: BlobCache,
    grammar: str | None,
    content: bytes | None,
    sha: str | None,
    base: ParsedBlob | None = None,
    blocks: tuple[Block, ...] = (),
) -> ParsedBlob | None:
    """Parse one version when there is a grammar and the content is within bounds."""
    if grammar is None or content is None or len(content) > MAX_DEEP_BYTES:
        return None
    return cache.parsed(grammar, content, sha, base, blocks)


def view_file(change: ChangedFile, deep: bool, ignore: Sequence[str], cache: BlobCache) -> FileView:
    """Classify one changed file and parse its versions when it is analysed deeply.

    The "after" version is parsed incrementally from the "before" tree.
    """
    excluded = _exclusion(change, ignore)
    language = language_of(change.path)
    grammar = grammar_of(change.path)
    deep = deep and excluded is None and change.patch is not None
    parse = deep and grammar is not None
    # Excluded files need no line-level view (security re-reads their raw patch).
    diff = parse_patch(change.patch) if excluded is None else EMPTY_DIFF
    before = _parse(cache, grammar, change.before, change.before_blob) if parse else None
    after = (
        _parse(cache, grammar, change.after, change.after_blob, before, diff.blocks)
        if parse
        else None
    )
    return FileView(
        change=change,
        language=language,
        grammar=grammar,
        diff=diff,
        excluded=excluded,
        is_test=language is not None and is_test_path(change.path),
        is_doc=is_doc_path(change.path),
        is_manifest=is_manifest(change.path),
        deep=deep,
        before=before,
        after=after,
    )


def view_commit(commit: Commit, ignore: Sequence[str], cache: BlobCache) -> list[FileView]:
    """Views of every changed file; past the first `MAX_DEEP_FILES` candidates, counts only."""
    analysed = analysed_paths(commit.files)
    views = []
    for change in commit.files:
        if is_candidate(change) and change.path not in analysed:
            views.append(_over_limit(change))
        else:
            views.append(view_file(change, grammar_of(change.path) is not None, ignore, cache))
    return views


def _over_limit(change: ChangedFile) -> FileView:
    """A file past the per-commit bound: excluded from the metrics, still counted."""
    language = language_of(change.path)
    return FileView(
        change=change,
        language=language,
        grammar=None,
        diff=EMPTY_DIFF,
        excluded=OVER_LIMIT,
        is_test=False,
        is_doc=False,
        is_manifest=is_manifest(change.path),
        deep=False,
    )
