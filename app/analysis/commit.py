"""The commit shapes every source produces and every analysis consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

FileStatus = Literal["added", "modified", "removed", "renamed"]
FILE_STATUSES: tuple[FileStatus, ...] = ("added", "modified", "removed", "renamed")


@dataclass(frozen=True)
class CommitInfo:
    """Who made a commit, when, and on top of what."""

    sha: str
    message: str
    author_name: str
    author_email: str
    committed_at: datetime
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangedFile:
    """One file of a commit.

    `patch` is the unified diff of the file (hunks only are enough); `None`
    means binary or too large, so only the counts are used. `before` and
    `after` are the full contents, present only for files worth deep analysis.
    """

    path: str
    old_path: str | None = None
    status: FileStatus = "modified"
    additions: int = 0
    deletions: int = 0
    patch: str | None = None
    before: bytes | None = None
    after: bytes | None = None
    before_blob: str | None = None
    after_blob: str | None = None


@dataclass(frozen=True)
class Commit:
    """A commit's metadata and its changed files, in the order the source gave them."""

    info: CommitInfo
    files: list[ChangedFile] = field(default_factory=list)


class CommitSource(Protocol):
    """Anything that can produce a `Commit` by sha."""

    async def get_commit(self, sha: str) -> Commit:
        """Return the commit `sha` with its changed files."""
        ...


class SourceError(Exception):
    """A commit source could not produce what was asked."""


class NotAGitRepository(SourceError):
    """The path given is not a git repository."""


class UnknownRevision(SourceError):
    """A branch or commit does not exist in the repository."""
