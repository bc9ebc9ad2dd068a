"""Where commits come from: the shapes, the protocol, and the two implementations."""

from app.analysis.commit import (
    ChangedFile,
    Commit,
    CommitInfo,
    CommitSource,
    NotAGitRepository,
    SourceError,
    UnknownRevision,
)
from app.analysis.github import GitHubCommitSource
from app.analysis.gitlocal import LocalGitSource

__all__ = [
    "ChangedFile",
    "Commit",
    "CommitInfo",
    "CommitSource",
    "GitHubCommitSource",
    "LocalGitSource",
    "NotAGitRepository",
    "SourceError",
    "UnknownRevision",
]
